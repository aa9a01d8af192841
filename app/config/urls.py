from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("ops.urls")),
    path("", include("assistant.urls")),  # first: the hot path (/api/v1/services) resolves soonest
    path("", include("openai_compat.urls")),
    path("", include("api.urls")),
]

handler400 = "api.handlers.bad_request"
handler403 = "api.handlers.permission_denied"
handler404 = "api.handlers.not_found"
handler500 = "api.handlers.server_error"
