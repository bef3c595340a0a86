"""Property tests for Discord's `ticket:<action>:<id>` custom_ids: any string parses safely."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.discord.components import PREFIX, button_id, parse_button
from bot.view import Button

ticket_ids = st.text(min_size=1, max_size=80)


@given(button=st.sampled_from(list(Button)), ticket_id=ticket_ids)
def test_every_button_id_parses_back_to_its_button_and_ticket(button, ticket_id):
    # Given the custom_id a card carries
    custom_id = button_id(button, ticket_id)
    # When Discord hands it back
    parsed = parse_button(custom_id)
    # Then it names the same button and the same ticket (ids may hold ':' themselves)
    assert parsed is not None
    assert parsed.button is button and parsed.ticket_id == ticket_id


@given(custom_id=st.text(max_size=120))
def test_any_custom_id_is_ours_exactly_when_it_is_prefix_action_id(custom_id):
    # When any string arrives as a custom_id (other bots' components, garbage)
    parsed = parse_button(custom_id)
    # Then it never raises, and it is ours only if building it again gives the same string
    if parsed is not None:
        assert button_id(parsed.button, parsed.ticket_id) == custom_id
        assert custom_id.startswith(f"{PREFIX}:{parsed.button}:")
    else:
        prefix, _, rest = custom_id.partition(":")
        action, _, ticket_id = rest.partition(":")
        assert prefix != PREFIX or not ticket_id or action not in {str(b) for b in Button}


@given(action=st.text(max_size=20).filter(lambda a: a not in {str(b) for b in Button}), ticket_id=ticket_ids)
def test_unknown_actions_and_other_prefixes_are_not_ours(action, ticket_id):
    assert parse_button(f"{PREFIX}:{action}:{ticket_id}") is None
    assert parse_button(f"other:claim:{ticket_id}") is None
    assert parse_button(f"{PREFIX}:claim:") is None
