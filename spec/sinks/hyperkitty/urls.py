# HyperKitty under /hyperkitty/, as a site usually mounts it.
from django.urls import include, path

urlpatterns = [path("hyperkitty/", include("hyperkitty.urls"))]
