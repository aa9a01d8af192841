"""A bare Django: no apps, no middleware, no database."""

import os

SECRET_KEY = "floor-" + "k" * 60
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "benchmarks.floor.app"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
FLOOR_UPSTREAM = os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:9/v1")
