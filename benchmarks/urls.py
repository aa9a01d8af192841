"""The project's URLs, plus one URL per comparison variant under /bench/."""

from django.urls import include, path

from benchmarks import views
from config.urls import handler400, handler403, handler404, handler500  # noqa: F401 -- the project's

urlpatterns = [
    path("bench/bare/<int:company_id>", views.bare, name="bench-bare"),
    path("bench/bare-redis/<int:company_id>", views.bare_redis, name="bench-bare-redis"),
    path("bench/before/<int:company_id>", views.before, name="bench-before"),
    path("bench/seedfix/<int:company_id>", views.seedfix, name="bench-seedfix"),
    path("bench/cachalot/<int:company_id>", views.cachalot, name="bench-cachalot"),
    path("", include("config.urls")),
]
