from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("ops.urls")),
    path("", include("assistant.urls")),
]

handler404 = "assistant.apis.not_found"
handler500 = "assistant.apis.server_error"
