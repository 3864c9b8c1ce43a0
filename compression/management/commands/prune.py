"""`manage.py prune`: delete jobs, uploads and their files older than the retention period."""

from django.conf import settings
from django.core.management.base import BaseCommand

from compression.services import prune_old, storage_orphans_delete


class Command(BaseCommand):
    help = "Delete jobs and uploads (and their files) older than RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Override RETENTION_DAYS.")
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be deleted.")
        parser.add_argument(
            "--orphans", action="store_true",
            help="Also delete stored files under users/ that no row references (older than an hour).",
        )

    def handle(self, *args, days, dry_run, orphans, **options):
        days = settings.RETENTION_DAYS if days is None else days
        if days < 0:
            days = 0
        counts = prune_old(days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {counts['jobs']} job(s) and {counts['uploads']} upload(s) older than {days} day(s): "
            f"{counts['files']} file(s), {counts['bytes']} bytes."
        )
        if orphans:
            names = storage_orphans_delete(dry_run=dry_run)
            self.stdout.write(f"{verb} {len(names)} orphan file(s).")
            if options["verbosity"] > 1:
                for name in names:
                    self.stdout.write(f"  {name}")
