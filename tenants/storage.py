"""Where an organisation's uploaded files live: MEDIA_ROOT/<schema name>/, one folder each."""

from typing import Any

from django.core.files.storage import FileSystemStorage
from django_tenants.files.storage import TenantFileSystemStorage


class OrganizationFileStorage(TenantFileSystemStorage):
    """django-tenants' storage, following MEDIA_ROOT when it changes.

    django-tenants caches MEDIA_ROOT joined with the per-schema folder the first time a file is
    stored, and on a `setting_changed` signal passes the settings module where the setting's name
    belongs, so a changed MEDIA_ROOT went unseen: files landed under the old root.
    """

    def _clear_cached_properties(self, setting: Any, **kwargs: Any) -> None:
        FileSystemStorage._clear_cached_properties(self, setting, **kwargs)
        if setting in ("MEDIA_ROOT", "MEDIA_URL", "MULTITENANT_RELATIVE_MEDIA_ROOT"):
            self.__dict__.pop("relative_media_root", None)
            self.__dict__.pop("relative_media_url", None)
