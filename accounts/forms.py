"""Account forms: sign-up, the rate-limited log-in forms (dashboard and admin), API token names."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from . import login_guard


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and @/./+/-/_ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        user_model = get_user_model()
        user_model.username_validator(username)
        if user_model.objects.filter(username__iexact=username).exists():
            raise ValidationError("That username is taken.")
        return username

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            probe = get_user_model()(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “laptop script”.")


class LoginLockoutMixin:
    """An AuthenticationForm that says so (error code "locked") while login_guard locks the login out.

    Checked before the password (no password check while locked) and again after a failure, so
    the attempt that reaches the limit already answers "too many".
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        remaining = login_guard.lockout_remaining(username=username, request=self.request)
        if remaining:
            raise ValidationError(login_guard.locked_message(remaining), code="locked")
        try:
            return super().clean()
        except ValidationError:
            remaining = login_guard.lockout_remaining(username=username, request=self.request)
            if remaining:
                raise ValidationError(login_guard.locked_message(remaining), code="locked")
            raise

    def is_locked(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "locked")


class LoginForm(LoginLockoutMixin, AuthenticationForm):
    """The dashboard's login form."""


class AdminLoginForm(LoginLockoutMixin, AdminAuthenticationForm):
    """The admin's login form (admin.site.login_form)."""


class GuardedPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the old password's check locked out like a log-in.

    A stolen session must not become a password-guessing oracle: a wrong old password counts as a
    failed login for the user and the client, and while either is locked no check is made.
    """

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        username = self.user.get_username()
        remaining = login_guard.lockout_remaining(username=username, request=self.request)
        if remaining:
            raise ValidationError(login_guard.locked_message(remaining), code="locked")
        try:
            return super().clean_old_password()
        except ValidationError:
            login_guard.failure_record(username=username, request=self.request)
            raise

    def is_locked(self) -> bool:
        return self.has_error("old_password", "locked")
