from django.urls import path

from assistant.apis import ChatApi, ServicesApi
from assistant.views import ChatPage

urlpatterns = [
    path("", ChatPage.as_view(), name="chat-page"),
    path("api/v1/chat", ChatApi.as_view(), name="api-chat"),
    path("api/v1/services", ServicesApi.as_view(), name="api-services"),
]
