"""Staff manage companies and their API keys here. Writes go through the model signals or the
invalidating queryset, so cached key resolutions are retired after commit like any write.

A new key is shown once, in the body of the action's own response, never in a message: Django's
messages travel in a cookie (or the session), which would keep the raw key in the browser and in
whatever logs or proxies see cookies.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tenancy.keys import api_key_issue, api_key_revoke
from tenancy.models import ApiKey, Company


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    actions = ["issue_api_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Company]) -> TemplateResponse:
        issued = [
            (company, api_key_issue(company=company, name=f"admin:{request.user}")[1])
            for company in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "New API keys",
            "issued": issued,
        }
        response = TemplateResponse(request, "admin/tenancy/issued_keys.html", context)
        response["Cache-Control"] = "no-store"
        return response


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
