"""Account pages: sign-up, the rate-limited log-in (dashboard and admin) and API tokens."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import login_guard, services
from . import tokens as api_tokens
from .forms import GuardedPasswordChangeForm, LoginForm, SignupForm, TokenCreateForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    wait = login_guard.signup_wait(request) if request.method == "POST" else 0
    if wait:
        form.add_error(None, f"Too many new accounts from your address; {login_guard.retry_in(wait)}.")
        return render(request, "registration/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("password1" if field == "password" else (field if field in form.fields else None), errors)
        else:
            login_guard.signup_record(request)
            auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(request, f"Welcome, {user.username}! Drop an image below to compress it.")
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; 429 while the old-password check is locked out."""

    form_class = GuardedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_locked():
            response.status_code = 429
        return response


class LoginView(auth_views.LoginView):
    """Django's login, rate-limited (accounts/login_guard.py): 429 with a message while locked."""

    form_class = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_locked():
            response.status_code = 429
        return response


def admin_login(request, extra_context=None):
    """The admin's login (its form is AdminLoginForm, see accounts/admin.py), 429 while locked."""
    response = admin.site.login(request, extra_context)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if request.method == "POST" and form is not None and getattr(form, "is_locked", lambda: False)():
        response.status_code = 429
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            created = api_tokens.token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:  # the token limit
            form.add_error(None, error)
        else:
            new_key = created.key  # shown in this response only; only its hash is stored
            form = TokenCreateForm()
    response = render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": api_tokens.token_list_for_user(user=request.user), "new_key": new_key},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    token = api_tokens.token_get_for_user(user=request.user, token_id=token_id)
    api_tokens.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("tokens")
