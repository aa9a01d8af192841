"""Staff edit catalogs here. Every save and bulk action goes through the model signals or
ServiceQuerySet, so the company's cached catalog is invalidated after commit like any write.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.api_keys import api_key_issue, api_key_revoke
from catalog.models import ApiKey, Company, Service


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "name_ar", "category", "price", "currency", "is_orderable", "is_active")


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ServiceInline]
    actions = ["issue_api_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Company]) -> None:
        for company in queryset:
            _, raw_key = api_key_issue(company=company, name=f"admin:{request.user}")
            self.message_user(
                request,
                f"New API key for {company.slug} (copy it now, it is not stored): {raw_key}",
                messages.WARNING,
            )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "name", "name_ar", "company", "category", "price", "currency", "is_orderable", "is_active",
    )  # fmt: skip
    list_filter = ("company", "category", "is_orderable", "is_active")
    list_editable = ("is_orderable", "is_active")
    search_fields = ("name", "description", "name_ar", "description_ar")
    fieldsets = (
        (None, {"fields": ("company", "category", "price", "currency")}),
        ("English", {"fields": ("name", "description")}),
        (
            "Arabic (optional: where empty, Arabic readers see the English text)",
            {"fields": ("name_ar", "description_ar")},
        ),
        ("Availability", {"fields": ("is_orderable", "is_active")}),
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """Arabic fields are typed right to left."""
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name.endswith("_ar"):
            field.widget.attrs.update({"dir": "rtl", "lang": "ar"})
        return field

    actions = ["make_orderable", "make_unorderable"]

    @admin.action(description="Mark selected services orderable")
    def make_orderable(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        queryset.update(is_orderable=True)

    @admin.action(description="Mark selected services not orderable")
    def make_unorderable(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        queryset.update(is_orderable=False)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "company", "created_at", "revoked_at")
    list_filter = ("company",)
    readonly_fields = ("company", "prefix", "key_hash", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued with the company action or `manage.py issue_api_key`

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
