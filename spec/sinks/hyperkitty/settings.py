# A headless HyperKitty for the hyperkitty sink's tests: Debian's
# python3-django-hyperkitty under Django's development server, SQLite, no
# Mailman core. Its directory and key come from the environment the test sets
# (MQA_HK_DIR, MQA_HK_KEY, MQA_HK_FROM). capture.py keeps a copy of what
# HyperKitty archived, for the tests to compare byte for byte.

import os

_DIR = os.environ["MQA_HK_DIR"]

SECRET_KEY = "mq-archive-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "hyperkitty",
    "django_mailman3",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sites",
    "rest_framework",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "django_q",
]
# CommonMiddleware, as HyperKitty's sites have it, sets Content-Length, without
# which Django's server closes every connection. MQA_HK_NO_CAPTURE: without
# the tests' copies (benchmarks).
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
if not os.environ.get("MQA_HK_NO_CAPTURE"):
    MIDDLEWARE.append("capture.capture_archived")
ROOT_URLCONF = "urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(_DIR, "hyperkitty.db")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {}}]
STATIC_URL = "/static/"
REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

# Without these HyperKitty fails its POSTs (500): the search index and
# django-q (sync: its tasks run inline, no Redis, no qcluster).
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
Q_CLUSTER = {"orm": "default", "sync": True, "timeout": 60, "retry": 120}
# Nothing cached across requests: a test sees what the database holds.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# No Mailman core: a closed port (refused at once; lists get defaults).
MAILMAN_REST_API_URL = "http://127.0.0.1:9"
MAILMAN_REST_API_USER = "restadmin"
MAILMAN_REST_API_PASS = "restpass"
MAILMAN_ARCHIVER_KEY = os.environ["MQA_HK_KEY"]
MAILMAN_ARCHIVER_FROM = tuple(os.environ.get("MQA_HK_FROM", "127.0.0.1,::1").split(","))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"hyperkitty": {"handlers": ["stderr"], "level": "INFO"}},
}
