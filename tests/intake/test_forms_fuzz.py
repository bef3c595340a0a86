"""Property tests for form webhooks: paths, field mapping, payload parsing and signatures never crash."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.forms import (
    FIELDS,
    MISSING,
    FormConfigError,
    Signature,
    as_text,
    first,
    load_sources,
    parse_source,
    resolve,
)
from intake.http import ApiError, check_storable
from intake.webhooks import FORM_TYPE, LIMITS, mapped, payload

SOURCES = load_sources("forms.yaml", {"FORM_SECRET_GENERIC": "s3cret", "FORM_SECRET_TYPEFORM": "s3cret"})
# Keys a dotted path can name (no dots or brackets inside).
keys = st.text(st.characters(blacklist_characters=".[]=", blacklist_categories=("Cs",)), min_size=1, max_size=8)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=8)


@given(data=json_values, path=st.text(max_size=40))
def test_resolve_never_raises_on_any_data_and_any_path(data, path):
    value = resolve(data, path)
    assert value is MISSING or value is not None or value is None  # any value, but it returned


@given(keys=st.lists(keys, min_size=1, max_size=4), leaf=scalars)
def test_a_dotted_path_finds_what_was_put_there(keys, leaf):
    # Given a nested object with a value at a.b.c
    data: Any = leaf
    for key in reversed(keys):
        data = {key: data}
    # Then the dotted path finds it
    assert resolve(data, ".".join(keys)) == leaf


@given(items=st.lists(st.fixed_dictionaries({"field": st.fixed_dictionaries({"ref": st.text(max_size=6)}),
                                             "text": st.text(max_size=10)}), max_size=6),
       wanted=st.text(st.characters(blacklist_characters="]", blacklist_categories=("Cs",)), max_size=6))
def test_a_selector_picks_the_first_item_whose_key_matches(items, wanted):
    # Given Typeform-style answers and a pick by field.ref
    found = resolve({"answers": items}, f"answers[field.ref={wanted}].text")
    # Then it is the text of the first answer whose ref equals the wanted value (after stripping)
    matches = [i["text"] for i in items if i["field"]["ref"] == wanted.strip()]
    assert found == (matches[0] if matches else MISSING)


@given(value=json_values)
def test_as_text_is_none_or_stripped_non_empty_text(value):
    text = as_text(value)
    assert text is None or (isinstance(text, str) and text == text.strip() and text)


@pytest.mark.parametrize("name", ["generic", "typeform"])
@settings(max_examples=150)
@given(data=json_objects)
def test_mapping_any_submission_gives_a_ticket_within_limits_or_a_422(name, data):
    # Given any JSON object posted to a source
    source = SOURCES[name]
    raw = json.dumps(data).encode()
    try:
        new, submission_id = mapped(source, data, raw)
    except ApiError as exc:
        # Then either it is refused as unprocessable, naming what is wrong
        assert exc.status == 422 and exc.code in ("missing_fields", "validation_error")
        return
    # Or it is a ticket whose text fits the columns, with a non-empty body and a submission id
    assert new.body and len(new.body) <= LIMITS["body"]
    assert len(new.subject) <= 300 and 0 < len(submission_id) <= LIMITS["submission_id"]
    for name_, limit in LIMITS.items():
        value = getattr(new, name_, None)
        assert value is None or len(value) <= limit
    assert len(new.topics) <= 20 and all(0 < len(t) <= 64 for t in new.topics)
    assert new.metadata["form"]["source"] == name


@given(data=st.dictionaries(st.text(max_size=10), st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3),
                            max_size=6))
def test_form_encoded_posts_parse_to_the_fields_that_were_sent(data):
    # Given an HTML form post (a repeated field is sent as several values)
    raw = urlencode(data, doseq=True).encode()
    request = make_mocked_request("POST", "/v1/webhooks/generic", headers={"Content-Type": FORM_TYPE})
    # When it is parsed
    parsed = payload(request, raw)
    # Then every field with at least one value comes back, single values as strings
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if key and values:
            assert parsed[key] == (values[0] if len(values) == 1 else values)


@given(raw=st.binary(max_size=200), kind=st.sampled_from(["application/json", FORM_TYPE, "text/plain",
                                                          "application/vnd.api+json"]))
def test_any_body_parses_or_is_refused_with_a_client_error(raw, kind):
    request = make_mocked_request("POST", "/v1/webhooks/generic", headers={"Content-Type": kind})
    try:
        data = payload(request, raw)
        check_storable(data)
    except ApiError as exc:
        assert exc.status in (400, 415, 422)
    else:
        assert isinstance(data, dict)


@given(secret=st.text(min_size=1, max_size=20), raw=st.binary(max_size=100),
       encoding=st.sampled_from(["hex", "base64"]), prefix=st.sampled_from(["sha256=", ""]),
       given_header=st.text(max_size=80))
def test_signatures_verify_only_the_signed_body(secret, raw, encoding, prefix, given_header):
    from pydantic import SecretStr

    signature = Signature(prefix=prefix, encoding=encoding)
    header = signature.sign(secret, raw)
    # A correct signature verifies; the same one over another body does not
    assert signature.valid(SecretStr(secret), raw, header)
    assert not signature.valid(SecretStr(secret), raw + b"x", header)
    # And any header text at all is judged without raising
    assert signature.valid(SecretStr(secret), raw, given_header) in (True, False)


paths = st.text(min_size=1, max_size=6) | st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=2) | scalars
entries = st.fixed_dictionaries({}, optional={
    "secret_env": json_values,
    "fields": st.fixed_dictionaries({"body": paths}, optional={name: paths for name in FIELDS if name != "body"}) | json_values,
    "metadata": st.dictionaries(st.text(max_size=5), json_values) | json_values,
    "required": st.lists(st.sampled_from([*FIELDS, "bogus"]) | json_values, max_size=3) | json_values,
    "signature": st.dictionaries(st.sampled_from(["header", "prefix", "encoding"]), json_values) | json_values,
    "enabled": json_values,
    "description": json_values,
})


@settings(max_examples=300)
@given(entry=entries)
def test_any_forms_yaml_entry_loads_or_fails_with_a_config_error(entry):
    try:
        source = parse_source("fuzzed", entry, {})
    except FormConfigError:
        return
    assert "body" in source.fields and "body" in source.required
    assert first({}, source.fields["body"]) is MISSING
