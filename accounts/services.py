"""Account writes: creating a user (Django's password validators) and deleting one with every file."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from compression.storage_names import user_prefix
from compression.stored_files import delete_files, delete_prefix, user_file_names

User = get_user_model()


@transaction.atomic
def user_create(*, username: str, email: str, password: str):
    """A new active user. Raises django ValidationError (username taken, weak password, ...)."""
    user = User(username=username, email=email)
    errors = {}
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    try:
        user.set_unusable_password()  # so full_clean does not complain before set_password
        user.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user


def user_delete(*, user) -> None:
    """Delete a user, their uploads, jobs and every file under their storage prefix."""
    names = user_file_names(user)
    user_id = user.pk
    with transaction.atomic():
        user.delete()
    delete_files(names)
    delete_prefix(user_prefix(user_id))
