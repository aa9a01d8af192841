from django.urls import path

from api.docs import ApiDocsPage, OpenApiDocument

urlpatterns = [
    path("api/v1/openapi.json", OpenApiDocument.as_view(), name="api-openapi"),
    path("api/docs", ApiDocsPage.as_view(), name="api-docs"),
]
