"""Speech recognition: the CTranslate2 → whisper.cpp converter, the pinned models, the prompt and
transcription of espeak-ng speech in the four languages."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from appliance.errors import ApplianceError
from appliance.speech import whisper_models
from appliance.speech.prompt import build_prompt
from appliance.speech.recognise import (
    Recogniser,
    audio_context,
    bounded_audio,
    clean_text,
    collapse_loops,
)
from appliance.speech.whisper_models import (
    CONVERSIONS,
    INSTALLED,
    LANGUAGE_MODELS,
    ConvertedModel,
    model_for_language,
    verified_model_path,
    whisper_dir,
)
from export.ct2_model import parse_ct2
from export.ggml_whisper import (
    FTYPE_Q8_0,
    GGML_F16,
    GGML_F32,
    GGML_Q8_0,
    mel_filters,
    quantise_q8_0,
    read_summary,
    token_bytes,
)
from export.spoken import espeak, word_errors, words

TINY = CONVERSIONS["tiny.en-q8_0"]
BASE = CONVERSIONS["base-q8_0"]


def installed(model: ConvertedModel) -> Path:
    """The converted model in the cache, or a skip saying how to make it."""
    path = whisper_dir() / model.file_name
    if not path.is_file():
        pytest.skip(f"{path} is absent: run `python -m export.whisper_convert install`")
    return path


# --- the CTranslate2 reader ------------------------------------------------------------------


def _ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _ct2_variable(name: str, array: np.ndarray, code: int) -> bytes:
    head = _ct2_string(name) + struct.pack("<B", array.ndim)
    head += struct.pack(f"<{array.ndim}I", *array.shape) + struct.pack("<B", code)
    return head + struct.pack("<I", array.nbytes) + array.tobytes()


def test_the_ct2_reader_reads_variables_aliases_and_int8_weights() -> None:
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    quant = np.array([[127, -127], [64, 0]], dtype=np.int8)
    scale = np.array([127.0, 32.0], dtype=np.float32)
    data = struct.pack("<I", 6) + _ct2_string("WhisperSpec") + struct.pack("<II", 3, 4)
    data += _ct2_variable("a/weight", weight, 4)
    data += _ct2_variable("q/weight", quant, 1)
    data += _ct2_variable("q/weight_scale", scale, 0)
    data += _ct2_variable("heads", np.array(6, dtype=np.int16), 2)
    data += struct.pack("<I", 1) + _ct2_string("b/weight") + _ct2_string("a/weight")
    model = parse_ct2(data)
    assert model.spec == "WhisperSpec" and model.revision == 3
    assert np.array_equal(model["b/weight"], weight)
    assert np.allclose(model["q/weight"], [[1.0, -1.0], [2.0, 0.0]])
    assert "q/weight_scale" not in model.variables
    assert int(model["heads"]) == 6
    with pytest.raises(ValueError, match="version"):
        parse_ct2(struct.pack("<I", 5) + data[4:])
    with pytest.raises(ValueError):
        parse_ct2(data[:-7])


# --- the ggml pieces ---------------------------------------------------------------------------


def test_mel_filters_are_80_triangles_rising_in_frequency() -> None:
    bank = mel_filters()
    assert bank.shape == (80, 201) and bank.dtype == np.float32
    assert (bank >= 0).all() and (bank.max(axis=1) > 0).all()
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > 190
    # Slaney normalisation: each filter's area (in Hz) is about 1 (2 / bandwidth × half width).
    area = bank.sum(axis=1) * 40.0
    assert np.allclose(area[10:], 1.0, atol=0.1)


def test_q8_0_blocks_are_a_scale_and_32_bytes_and_round_trip() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(3, 64)).astype(np.float32)
    data = quantise_q8_0(values)
    assert len(data) == 6 * 34
    record = np.dtype([("d", "<f2"), ("qs", "i1", (32,))])
    blocks = np.frombuffer(data, dtype=record)
    back = (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(
        3, 64
    )
    assert np.abs(back - values).max() <= np.abs(values).max() / 127
    assert quantise_q8_0(np.zeros((1, 32), np.float32)) == b"\0" * 34
    with pytest.raises(ValueError):
        quantise_q8_0(np.zeros((2, 30), np.float32))


def test_vocabulary_entries_are_decoded_from_gpt2_byte_text() -> None:
    assert token_bytes(["Ġhello", "Ċ", "!", "Ã©", ""]) == [
        b" hello",
        b"\n",
        b"!",
        "é".encode(),
        b"",
    ]


# --- the converted models ----------------------------------------------------------------------


def test_the_tiny_en_model_file_has_whisper_cpp_s_layout() -> None:
    summary = read_summary(installed(TINY).read_bytes())
    h = summary.hparams
    assert (h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer) == (
        51864, 1500, 384, 6, 4,
    )  # fmt: skip
    assert (h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels) == (
        448, 384, 6, 4, 80,
    )  # fmt: skip
    assert h.ftype == FTYPE_Q8_0
    assert summary.mel_shape == (80, 201)
    assert len(summary.vocabulary) == 50256 and summary.vocabulary[0] == b"!"
    assert len(summary.tensors) == 167
    types = {t.name: t for t in summary.tensors}
    assert types["encoder.conv1.weight"].ggml_type == GGML_F16
    assert types["encoder.conv1.bias"].dims == (1, 384)
    assert types["encoder.positional_embedding"].ggml_type == GGML_F32
    assert types["decoder.token_embedding.weight"].ggml_type == GGML_Q8_0
    assert types["decoder.token_embedding.weight"].dims == (384, 51864)
    assert types["decoder.blocks.3.cross_attn.value.bias"].ggml_type == GGML_F32
    assert "decoder.blocks.0.attn.key.bias" not in types


def test_the_base_model_file_is_multilingual_with_245_tensors() -> None:
    summary = read_summary(installed(BASE).read_bytes())
    assert summary.hparams.n_vocab == 51865 and summary.hparams.n_audio_layer == 6
    assert summary.hparams.n_audio_state == 512 and summary.hparams.n_audio_head == 8
    assert len(summary.vocabulary) == 50257 and summary.vocabulary[50256] == b""
    assert len(summary.tensors) == 245


@pytest.mark.slow
def test_the_f16_base_conversion_has_the_published_size_and_its_pinned_checksum() -> None:
    installed(BASE)  # the packages are there when the install step ran
    import hashlib

    from export.whisper_convert import convert

    data = convert("base", "f16")
    assert len(data) == 147_951_465 == CONVERSIONS["base-f16"].size
    assert hashlib.sha256(data).hexdigest() == CONVERSIONS["base-f16"].sha256


def test_the_installed_models_match_their_pins() -> None:
    for name in INSTALLED:
        path = verified_model_path(CONVERSIONS[name])
        assert path.stat().st_size == CONVERSIONS[name].size


def test_every_language_has_an_installed_model() -> None:
    assert set(LANGUAGE_MODELS) == {"en", "de", "es", "ru"}
    assert {model_for_language(lang).name for lang in LANGUAGE_MODELS} <= set(INSTALLED)
    with pytest.raises(ApplianceError, match="not supported"):
        model_for_language("fr")


def test_a_missing_or_damaged_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ApplianceError, match=r"export\.whisper_convert install"):
        verified_model_path(TINY, tmp_path)
    (tmp_path / TINY.file_name).write_bytes(b"not a model")
    with pytest.raises(ApplianceError, match="damaged or another version") as caught:
        Recogniser(model_dir=tmp_path).transcribe(np.zeros(32_000, np.float32), "en")
    assert TINY.sha256[:16] in str(caught.value)


def test_a_missing_model_package_is_named_with_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from export import whisper_convert

    pin = whisper_models.PinnedFile("no-such-package-here", "1.0", "x/model.bin", "0" * 64)
    with pytest.raises(ApplianceError, match=r"no-such-package-here.*pip install"):
        whisper_convert._pinned_path(pin)
    real = whisper_models.SOURCES["tiny.en"].config
    wrong = whisper_models.PinnedFile(real.package, real.version, real.path, "0" * 64)
    with pytest.raises(ApplianceError, match="expected 0000"):
        whisper_convert._pinned_path(wrong)


# --- the prompt --------------------------------------------------------------------------------


def test_the_prompt_names_commands_first_then_composers_directions_and_titles() -> None:
    pieces = [("Clair de lune", "Claude Debussy"), ("Für Elise", "Ludwig van Beethoven")]
    prompt = build_prompt("de", pieces, max_bytes=400)
    assert prompt.startswith("spiel, Pause, Stopp, schneller, langsamer, leiser, lauter, ")
    assert "Takt, Debussy, Beethoven, " in prompt
    assert "Clair de lune" not in prompt  # titles last: they did not fit
    everything = build_prompt("de", pieces, max_bytes=5000)
    assert everything.index("ganz leise") < everything.index("Clair de lune, Für Elise")
    assert "softer" not in prompt
    library = [(f"Piece {n}", f"Composer{n}") for n in range(40)]
    assert build_prompt("en", library).startswith("play, pause, stop")  # a big library


def test_the_prompt_is_capped_and_has_each_phrase_once() -> None:
    pieces = [(f"Sonata number {i}", "Mozart") for i in range(100)]
    prompt = build_prompt("en", pieces, max_bytes=200)
    assert len(prompt.encode()) <= 200
    assert prompt.count("Mozart") == 1
    for lang in ("en", "de", "es", "ru"):
        assert 0 < len(build_prompt(lang).encode()) <= 100
    assert build_prompt("ru").startswith("играй, пауза, стоп, быстрее")
    assert build_prompt("fr") == ""


# --- recognition -------------------------------------------------------------------------------


def test_the_encoder_context_follows_the_audio_length() -> None:
    assert audio_context(1.0) == 512
    assert audio_context(9.0) == 512
    assert audio_context(12.0) == 768  # (12 + 1) × 50 = 650, in blocks of 256
    assert audio_context(40.0) == 1500


def test_whisper_s_artefacts_and_loops_are_removed() -> None:
    assert clean_text(" [BLANK_AUDIO] ") == ""
    assert clean_text("(music) play softer  please ♪") == "play softer please"
    assert clean_text("play, play, play, play, faster") == "play, faster"
    assert collapse_loops(list("abababc")) == list("abc")
    assert collapse_loops(["bar", "twelve", "twelve"]) == ["bar", "twelve", "twelve"]


def test_audio_is_bounded_and_checked() -> None:
    assert len(bounded_audio(np.zeros(100, np.float32))) == 17_600  # padded to 1.1 s
    assert len(bounded_audio(np.zeros(40 * 16_000, np.float32))) == 30 * 16_000
    with pytest.raises(ApplianceError, match="NaN"):
        bounded_audio(np.array([0.0, np.nan] * 10_000, np.float32))
    with pytest.raises(ApplianceError, match="mono"):
        bounded_audio(np.zeros((16_000, 2), np.float32))


def test_too_short_audio_gives_an_empty_transcript_without_a_model(tmp_path: Path) -> None:
    heard = Recogniser(model_dir=tmp_path).transcribe(np.zeros(800, np.float32), "en")
    assert heard.text == "" and heard.audio_seconds == 0.05 and heard.model == "tiny.en-q8_0"


SPOKEN = [  # (language, espeak-ng voice, what is said, the words that must be heard)
    ("en", "en-us", "please play softer", ("play", "softer")),
    ("en", "en-gb", "stop", ("stop",)),
    ("en", "en-us", "a little faster please", ("faster",)),
    ("en", "en-us", "play from the beginning", ("beginning",)),
    ("de", "de", "bitte spiel lauter", ("lauter",)),
    ("de", "de", "langsamer bitte", ("langsamer",)),
    ("de", "de", "von vorne", ("vorne",)),
    ("es", "es", "más lento por favor", ("lento",)),
    ("es", "es", "desde el principio", ("principio",)),
    ("es", "es", "más fuerte", ("fuerte",)),
    ("ru", "ru", "играй тише", ("тише",)),
    ("ru", "ru", "медленнее пожалуйста", ("медленнее",)),
    ("ru", "ru", "громче", ("громче",)),
]


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    return Recogniser(n_threads=2)


@pytest.mark.slow
@pytest.mark.parametrize(("language", "voice", "text", "keys"), SPOKEN)
def test_espeak_speech_is_recognised(
    recogniser: Recogniser,
    tmp_path: Path,
    language: str,
    voice: str,
    text: str,
    keys: tuple[str, ...],
) -> None:
    installed(model_for_language(language))
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (`make test` installs it)")
    audio = espeak(text, voice, 150, tmp_path / "said.wav")
    heard = recogniser.transcribe(audio, language, build_prompt(language))
    assert heard.language == language and heard.model == LANGUAGE_MODELS[language]
    assert heard.audio_seconds == pytest.approx(len(audio) / 16_000)
    assert heard.decode_seconds > 0
    for key in keys:
        assert key in words(heard.text), f"{key!r} not heard in {heard.text!r} ({text!r})"


def test_word_errors_ignore_case_and_punctuation() -> None:
    assert word_errors("Play softer, please!", "play softer please") == (0, 3)
    assert word_errors("играй тише", "Играй, тише.") == (0, 2)
    assert word_errors("a b c", "a x") == (2, 3)
