"""The base view of every JSON endpoint: ApiError → JSON, JSON 405 with Allow, OPTIONS answered
with Allow (no HTML, no authentication: preflights carry no credentials), Bearer authentication
and the rate limits when the view asks for authentication.

Each view declares its operations (`operations = {"post": Operation(...)}`): the request and
response models it validates with and answers in; api/openapi.py documents the views from them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from api import inflight, preauth, ratelimit
from api.auth import authenticate
from api.errors import ApiError, error_response
from api.openapi import Operation
from tenancy.keys import Tenant

# nginx's code for a request whose client closed the connection before the response.
CLIENT_CLOSED_REQUEST = 499


class JsonApiView(View):
    requires_auth = True
    # The view produces assistant replies: it charges the daily reply quotas itself
    # (ratelimit.charge_reply) once a request is accepted, so a refused one spends nothing.
    charges_reply = False
    operations: dict[str, Operation] = {}

    def allowed_methods(self) -> str:
        return ", ".join(m.upper() for m in self._allowed_methods())

    @method_decorator(csrf_exempt)  # bearer tokens, no cookies: CSRF does not apply
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            method = request.method.lower()
            if method not in self.http_method_names or not hasattr(self, method):
                return self.http_method_not_allowed(request)
            if method == "options":
                return self.options(request)
            if self.requires_auth:
                preauth.refuse_if_blocked(request)
                try:
                    request.tenant = self.authenticate(request)
                except ApiError as error:
                    raise preauth.failed(request, error) from None
            if self.charges_reply:
                return self._dispatch_reply(request, *args, **kwargs)
            self._enforce_limits(request)
            return super().dispatch(request, *args, **kwargs)
        except ApiError as error:
            response = error.response(request)
            if error.status == 401 or error.code == "auth_rate_limited":
                # Logged by api/preauth.py once per interval, not by Django once per request.
                response._has_been_logged = True
            return response

    def _enforce_limits(self, request: HttpRequest) -> None:
        """The per-minute limits count every authenticated request; the daily reply quotas are
        charged by the view once the request is accepted (ratelimit.charge_reply)."""
        if self.requires_auth:
            ratelimit.enforce(tenant=request.tenant, key_hash=request.api_key_hash)

    def _dispatch_reply(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A reply holds one of the worker's in-flight slots (or is refused 503 at once) until
        its response is closed; a client that hangs up meanwhile ends it early."""
        request.in_flight = reply = inflight.admit(request)
        try:
            self._enforce_limits(request)
            response = super().dispatch(request, *args, **kwargs)
        except inflight.ClientGone:
            reply.close()
            # Nobody reads it; the access log shows nginx's code for it. A hang-up is counted
            # (wazen_replies_client_gone_total), not a warning of Django's request logger.
            response = HttpResponse(status=CLIENT_CLOSED_REQUEST, reason="Client Closed Request")
            response._has_been_logged = True
            return response
        except BaseException:
            reply.close()
            raise
        if response.streaming:
            response.streaming_content = inflight.StreamUntilGone(response.streaming_content, reply)
        else:
            reply.close()
        return response

    def authenticate(self, request: HttpRequest) -> Tenant:
        """The caller's company (401 otherwise); a view may resolve more in the same step."""
        return authenticate(request)

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = HttpResponse(status=204)
        response["Allow"] = self.allowed_methods()
        return response

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any):
        allowed = self.allowed_methods()
        return error_response(
            request,
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {allowed}.",
            headers={"Allow": allowed},
        )


__all__ = ["ApiError", "JsonApiView", "JsonResponse", "Operation"]
