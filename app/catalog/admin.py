"""Staff edit catalogs here. Every save and bulk action goes through the model signals or the
invalidating queryset, so the company's cached catalog is invalidated after commit like any write.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import Service
from tenancy.admin import CompanyAdmin
from tenancy.models import Company


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "name_ar", "category", "price", "currency", "is_orderable", "is_active")


# The company page lists its services: tenancy knows nothing of services, so the catalog extends
# tenancy's company admin with them.
admin.site.unregister(Company)


@admin.register(Company)
class CompanyWithServicesAdmin(CompanyAdmin):
    inlines = [ServiceInline]


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
