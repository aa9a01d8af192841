from django.urls import path

from openai_compat.views import ChatCompletionsApi, ModelApi, ModelsApi

urlpatterns = [
    path("v1/chat/completions", ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    path("v1/models", ModelsApi.as_view(), name="openai-models"),
    path("v1/models/<str:model>", ModelApi.as_view(), name="openai-model"),
]
