from django.views.generic import TemplateView


class ChatPage(TemplateView):
    """The try-it page. The API key stays in the browser (URL fragment or session storage)."""

    template_name = "assistant/chat.html"
