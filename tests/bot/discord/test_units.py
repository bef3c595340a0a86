"""Pure pieces: Ed25519 verification, custom_id parsing, modal values, answers as Discord payloads."""

from __future__ import annotations

import time

import pytest
from nacl.signing import SigningKey

from bot.discord.answer import Answer, Callback, say
from bot.discord.components import button_id, note_modal_id, parse_button, parse_note_modal
from bot.discord.dispatch import caller_of, modal_values
from bot.discord.errors import BadInteraction
from bot.discord.verify import Verifier
from bot.view import Button

KEY = SigningKey.generate()
VERIFIER = Verifier(KEY.verify_key.encode().hex())


def signed(body: bytes, stamp: str) -> str:
    return KEY.sign(stamp.encode() + body).signature.hex()


@pytest.mark.parametrize(("signature", "stamp", "ok"), [
    ("good", "now", True),
    (None, "now", False),
    ("good", None, False),
    ("00" * 64, "now", False),
    ("zz", "now", False),
    ("abcd", "now", False),
    ("good", "old", False),
    ("good", "future", False),
    ("good", "nan", False),
])
def test_verify_accepts_only_a_fresh_valid_signature(signature, stamp, ok):
    # Given a body signed over a timestamp (or something that is not that)
    now = time.time()
    stamps = {"now": str(int(now)), "old": str(int(now) - 301), "future": str(int(now) + 301), "nan": "nan",
              None: None}
    body = b'{"type": 1}'
    stamp_value = stamps[stamp]
    sig = signed(body, stamp_value or "0") if signature == "good" else signature
    # When it is verified, Then only the fresh, valid one passes
    assert VERIFIER.verify(sig, stamp_value, body, now=now) is ok


def test_verify_rejects_a_signature_of_another_body():
    stamp = str(int(time.time()))
    assert not VERIFIER.verify(signed(b"a", stamp), stamp, b"b")


def test_a_bad_public_key_fails_at_start():
    with pytest.raises(ValueError, match="DISCORD_PUBLIC_KEY"):
        Verifier("not-hex")


def test_custom_ids_round_trip_and_strangers_are_ignored():
    assert button_id(Button.CLAIM, "T-1") == "ticket:claim:T-1"
    parsed = parse_button("ticket:claim:T-1")
    assert parsed is not None and (parsed.button, parsed.ticket_id) == (Button.CLAIM, "T-1")
    assert parse_button("ticket:explode:T-1") is None and parse_button("other:claim:T-1") is None
    assert parse_button("ticket:claim:") is None
    assert parse_note_modal(note_modal_id("T-1")) == "T-1" and parse_note_modal("ticket-new") is None


def test_modal_values_read_rows_and_labels():
    components = [{"type": 1, "components": [{"type": 4, "custom_id": "subject", "value": "VPN"}]},
                  {"type": 18, "component": {"type": 4, "custom_id": "body", "value": "drops"}}, "junk"]
    assert modal_values(components) == {"subject": "VPN", "body": "drops"}


def test_caller_comes_from_member_or_dm_user_and_needs_both_ids():
    member = caller_of({"id": "1", "member": {"user": {"id": "7", "username": "ana"}}, "guild_id": "9"})
    direct = caller_of({"id": "2", "user": {"id": "8", "username": "ben", "global_name": "Ben"}})
    assert (member.user_id, member.user_name, member.guild_id) == ("7", "ana", "9")
    assert (direct.user_id, direct.user_name, direct.guild_id) == ("8", "Ben", None)
    with pytest.raises(BadInteraction):
        caller_of({"id": "3"})


async def test_answers_become_discord_payloads():
    # Ephemeral message, deferrals, and an update that drops the buttons
    assert say("hi").payload() == {"type": 4, "data": {"allowed_mentions": {"parse": []}, "content": "hi",
                                                       "flags": 64}}
    assert Answer(Callback.DEFERRED_MESSAGE, ephemeral=True).payload() == {"type": 5, "data": {"flags": 64}}
    assert Answer(Callback.DEFERRED_UPDATE).payload() == {"type": 6}
    assert Answer(Callback.UPDATE, content="x").payload()["data"]["components"] == []


async def test_old_interaction_answers_are_pruned_and_fresh_ones_kept(db):
    # Given one interaction answered two days ago and one just now
    from datetime import timedelta

    from sqlalchemy import update

    from bot.discord import store
    from storage.models import IdempotencyKey, utcnow

    for interaction_id in ("old", "new"):
        assert await store.first_seen(db, interaction_id)
        await store.remember(db, interaction_id, {"type": 4}, None)
    async with db.write() as session:
        await session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                              .values(created_at=utcnow() - timedelta(days=2)))
    # When old answers are pruned
    gone = await store.prune(db)
    # Then only the old one went, and the fresh one still answers a repeat
    assert gone == 1
    assert await store.recall(db, "old") is None and await store.recall(db, "new") == {"type": 4}
