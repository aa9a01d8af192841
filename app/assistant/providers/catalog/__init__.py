"""The offline provider: deterministic answers straight from the catalog snapshot.

It needs no key and no network, so `make run`, the tests and air-gapped installs always have a
working assistant. It answers in the customer's language (Arabic script → Arabic, else English)
and understands: listing, describing one or several services in one question, comparing prices,
ordering, order status, cancelling, greetings and thanks, and redirects anything else politely.

An order is money, so it asks to order only a service the customer named, or the one service the
conversation was last about ("order it" after "tell me about payroll"), or the one it just offered
("yes"), never on a question ("do I need an audit?"); anything less certain gets the question
"which one?". Even then the service layer only proposes the order (service, quantity, total) and
places it when the customer's next message confirms it. Status and cancel are intents the
service layer carries out against the customer's own orders: this module never sees them.
"""

from __future__ import annotations

from decimal import Decimal

from assistant.language import conversation_language
from assistant.providers.base import Intent, Provider, ProviderReply, Turn
from assistant.providers.catalog import replies
from assistant.providers.catalog.intents import Cues, read_cues
from assistant.providers.catalog.matching import match_service, mentioned_services
from assistant.providers.catalog.topics import topic_services
from assistant.replies import is_proposal
from catalog.snapshot import CatalogSnapshot, ServiceEntry

__all__ = ["CatalogProvider", "match_service", "mentioned_services"]


def last_discussed(history: list[Turn], services: tuple[ServiceEntry, ...]) -> list[ServiceEntry]:
    """The services of the most recent turn that named any. The assistant's own turns count by
    full names only, so a listing (many names) makes "order it" ambiguous instead of picking
    the first listed service."""
    for turn in reversed(history):
        found = mentioned_services(turn.content, services, strict=turn.role == "assistant")
        if found:
            return found
    return []


def _last_assistant_turn(history: list[Turn]) -> str:
    return next((t.content for t in reversed(history) if t.role == "assistant"), "")


class CatalogProvider(Provider):
    name = "catalog"

    def reply(
        self, *, company_name: str, snapshot: CatalogSnapshot, history: list[Turn], message: str
    ) -> ProviderReply:
        language = conversation_language([(t.role, t.content) for t in history], message)
        cues = read_cues(message)
        if cues.cancel and cues.cancel_question:
            return ProviderReply(replies.say("cancel_help", language), intent=Intent.HOW_TO)
        if cues.cancel:  # "cancel the bookkeeping order": the service layer finds it by name
            named = tuple(s.id for s in mentioned_services(message, snapshot.services))
            return ProviderReply(
                "", intent=Intent.ORDER_CANCEL, order_id=cues.order_number, service_ids=named
            )
        if cues.status:
            return ProviderReply("", intent=Intent.ORDER_STATUS, order_id=cues.order_number)
        if not snapshot.services:
            return ProviderReply(
                replies.say("empty", language, company=company_name), intent=Intent.EMPTY_CATALOG
            )
        services = snapshot.services
        named = mentioned_services(message, services)
        previous = _last_assistant_turn(history)

        ordering = self._order(cues, named, history, previous, services, language)
        if ordering is not None:
            return ordering
        if cues.compare:
            if len(named) >= 2 and cues.differ:
                return self._differ(named, language)
            if len(named) >= 2:
                return self._compare(named, language, about_named=True)
            return self._compare(list(services), language, about_named=False)
        if named:
            return self._describe(named, language)
        if cues.reference and cues.question:  # "what does it include?" after one service
            discussed = last_discussed(history, services)
            if len(discussed) == 1:
                return self._describe(discussed, language)
        if cues.list:
            return ProviderReply(
                replies.say(
                    "list",
                    language,
                    company=company_name,
                    lines=replies.catalog_lines(services, language),
                ),
                intent=Intent.LIST,
            )
        if cues.greeting:
            return ProviderReply(
                replies.say("greeting", language, company=company_name), intent=Intent.GREETING
            )
        if cues.thanks:
            return ProviderReply(replies.say("thanks", language), intent=Intent.THANKS)
        topical = topic_services(message, services)
        if topical:  # "I need help with my taxes": the services about taxes
            text = replies.say(
                "topic", language, lines=replies.describe_lines(topical, language)
            ).replace(" \n", "\n")
            ids = tuple(s.id for s in topical)
            return ProviderReply(text, intent=Intent.DESCRIBE, service_ids=ids)
        return ProviderReply(
            replies.say("redirect", language, lines=replies.catalog_lines(services, language)),
            intent=Intent.REDIRECT,
        )

    def _order(
        self,
        cues: Cues,
        named: list[ServiceEntry],
        history: list[Turn],
        previous: str,
        services: tuple[ServiceEntry, ...],
        language: str,
    ) -> ProviderReply | None:
        """The order (or the "which one?") reply, or None if the message is not an order. Kept
        apart so that every path that can spend the customer's money is in one place."""
        wants = (
            (cues.order_strong and not cues.asks_price)
            or (cues.order_weak and (named or cues.reference))
        ) and not cues.asks
        plain = not (cues.question or cues.compare or cues.list or cues.thanks)
        answers_which = replies.asked_which(previous) and len(named) == 1 and plain
        offered = replies.offered_name(previous)
        proposed = is_proposal(previous)
        accepts_offer = (
            offered is not None and (cues.affirm or cues.yes_with_quantity) and not named and plain
        )
        # After a proposal: "10 employees" changes how many; a "yes" the server did not take
        # (the proposal expired) proposes it again.
        amends = proposed and plain and not named and (cues.quantity is not None or cues.affirm)
        if (proposed or offered) and cues.refuse:
            return ProviderReply(replies.say("declined", language), intent=Intent.DECLINED)
        if not (wants or answers_which or accepts_offer or amends):
            return None
        if cues.not_now:
            return ProviderReply(replies.say("declined", language), intent=Intent.DECLINED)
        several_named = len(named) > 1
        if named:
            candidates = named
        elif accepts_offer:
            candidates = [s for s in services if offered in s.names()]
        elif amends:
            candidates = mentioned_services(previous, services, strict=True)[:1]
        elif cues.reference:
            candidates = last_discussed(history, services)
        else:
            candidates = []
        if len(candidates) == 1:
            service = candidates[0]
            # The service layer proposes (or refuses) the order in the reply.
            return ProviderReply(
                "",
                order_service_id=service.id,
                intent=Intent.ORDER,
                service_ids=(service.id,),
                quantity=cues.quantity,
            )
        if several_named:
            text = replies.price_lines(candidates, language) + "\n" + replies.WHICH_OF[language]
            return ProviderReply(
                text, intent=Intent.CLARIFY, service_ids=tuple(s.id for s in candidates)
            )
        text = replies.WHICH[language] + "\n" + replies.catalog_lines(services, language)
        return ProviderReply(text, intent=Intent.CLARIFY)

    def _describe(self, named: list[ServiceEntry], language: str) -> ProviderReply:
        ids = tuple(s.id for s in named)
        if len(named) == 1:
            service = named[0]
            name = service.name_in(language)
            text = replies.say(
                "describe_one",
                language,
                name=name,
                price=service.price_in(language),
                description=service.description_in(language),
                offer=replies.OFFER[language].format(name=name),
            ).replace(" \n", "\n")
            return ProviderReply(text, intent=Intent.DESCRIBE, service_ids=ids)
        text = replies.say("describe_many", language, lines=replies.describe_lines(named, language))
        return ProviderReply(text, intent=Intent.DESCRIBE, service_ids=ids)

    def _differ(self, named: list[ServiceEntry], language: str) -> ProviderReply:
        """ "What's the difference between A and B": what each one is, then the prices."""
        ranked = sorted(named, key=lambda s: Decimal(s.price))
        text = replies.say("differ", language, lines=replies.describe_lines(ranked, language))
        if len({s.currency for s in ranked}) == 1:
            text += _price_ends(ranked, language)
        return ProviderReply(text, intent=Intent.COMPARE, service_ids=tuple(s.id for s in ranked))

    def _compare(
        self, chosen: list[ServiceEntry], language: str, *, about_named: bool
    ) -> ProviderReply:
        ranked = sorted(chosen, key=lambda s: Decimal(s.price))
        text = replies.say("compare", language, lines=replies.price_lines(ranked, language))
        if len({s.currency for s in ranked}) == 1 and len(ranked) >= 2:
            text += _price_ends(ranked, language)
        ids = tuple(s.id for s in ranked) if about_named else ()
        return ProviderReply(text, intent=Intent.COMPARE, service_ids=ids)


def _price_ends(ranked: list[ServiceEntry], language: str) -> str:
    """The cheapest and the dearest of services sorted by price (one currency)."""
    low, high = ranked[0], ranked[-1]
    return replies.say(
        "compare_ends",
        language,
        low=low.name_in(language),
        low_price=low.price_in(language),
        high=high.name_in(language),
        high_price=high.price_in(language),
    )
