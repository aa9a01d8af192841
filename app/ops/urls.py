from django.urls import path

from ops.health import LIVE_CHECKS, READY_CHECKS, STARTUP_CHECKS, ProbeView

urlpatterns = [
    path("live", ProbeView.as_view(checks=LIVE_CHECKS), name="health-live"),
    path("ready", ProbeView.as_view(checks=READY_CHECKS), name="health-ready"),
    path("startup", ProbeView.as_view(checks=STARTUP_CHECKS), name="health-startup"),
]
