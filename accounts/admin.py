from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import services
from .forms import AdminLoginForm
from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff can see and revoke (delete) tokens; keys are never stored, so never shown."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    list_filter = ("created_at",)
    search_fields = ("name", "user__username", "prefix", "id")
    readonly_fields = ("id", "user", "name", "prefix", "key_hash", "created_at", "last_used_at")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False  # tokens are created through the API, where the key can be shown once


# Deleting a user from the admin also deletes their files (the default would leave them orphaned).
User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    def delete_model(self, request, obj):
        services.user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user=user)


# Password guessing: the admin login refuses while login_guard locks the username or IP out.
admin.site.login_form = AdminLoginForm
