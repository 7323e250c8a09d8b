"""Tiny Argos Translate packages for tests: the real format, random weights, fixed seeds.

They run through the real argostranslate and CTranslate2 code, but what they output is meaningless.
Built offline with sentencepiece and ctranslate2 (both come with argos-translate-lt) and numpy.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

CORPUS = [
    "Hallo, ik heb een vraag over mijn afspraak.",
    "Wanneer begint mijn inburgeringstermijn?",
    "Hello, I have a question about my appointment.",
    "When does my integration period start?",
    "Uw klantmanager belt u morgen terug.",
    "Your case manager will call you back tomorrow.",
    "Merhaba, randevum hakkında bir sorum var.",
    "مرحبا، لدي سؤال عن موعدي.",
]
NAMES = {
    "nl": "Dutch",
    "en": "English",
    "ar": "Arabic",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "fa": "Persian",
    "de": "German",
}


def build(
    out_dir: Path,
    source: str,
    target: str,
    *,
    seed: int,
    with_splitter: bool = True,
    d_model: int = 16,
    ffn: int = 32,
    heads: int = 2,
    layers: int = 1,
) -> Path:
    """Write ``translate-{source}_{target}-0_1.argosmodel`` into ``out_dir`` and return its path."""
    import ctranslate2  # noqa: F401  (the spec module needs the package)
    import numpy as np
    import sentencepiece as spm
    from ctranslate2.specs import transformer_spec

    name = f"translate-{source}_{target}-0_1"
    pkg = out_dir / name
    shutil.rmtree(pkg, ignore_errors=True)
    (pkg / "model").mkdir(parents=True)

    model_io = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=model_io,
        vocab_size=80,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        minloglevel=2,
    )
    (pkg / "sentencepiece.model").write_bytes(model_io.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(pkg / "sentencepiece.model"))
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    size = len(vocab)

    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    def norm(layer) -> None:  # type: ignore[no-untyped-def]
        layer.gamma = np.ones(d_model, np.float32)
        layer.beta = np.zeros(d_model, np.float32)

    def linear(layer, rows: int, cols: int) -> None:  # type: ignore[no-untyped-def]
        layer.weight = rand(rows, cols)
        layer.bias = np.zeros(rows, np.float32)

    def feed_forward(layer) -> None:  # type: ignore[no-untyped-def]
        norm(layer.layer_norm)
        linear(layer.linear_0, ffn, d_model)
        linear(layer.linear_1, d_model, ffn)

    spec = transformer_spec.TransformerSpec.from_config((layers, layers), heads)
    encoder, decoder = spec.encoder, spec.decoder
    encoder.embeddings[0].weight = rand(size, d_model)
    decoder.embeddings.weight = rand(size, d_model)
    norm(encoder.layer_norm)
    norm(decoder.layer_norm)
    for layer in encoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        feed_forward(layer.ffn)
    for layer in decoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d_model, d_model)
        linear(layer.attention.linear[1], 2 * d_model, d_model)
        linear(layer.attention.linear[2], d_model, d_model)
        feed_forward(layer.ffn)
    linear(decoder.projection, size, d_model)
    decoder.projection.bias[vocab.index("</s>")] = 2.0  # stop after a few tokens, but not at once
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization=None)
    spec.save(str(pkg / "model"))

    meta = {
        "package_version": "0.1",
        "argos_version": "1.9",
        "from_code": source,
        "from_name": NAMES[source],
        "to_code": target,
        "to_name": NAMES[target],
        "type": "translate",
        "code": f"translate-{source}_{target}",
        "links": [],
    }
    (pkg / "metadata.json").write_text(json.dumps(meta, indent=2))
    (pkg / "README.md").write_text("Test package with random weights; its output means nothing.\n")
    if with_splitter:  # real index packages ship stanza/ instead; Wegwijs adds its splitter on install
        from locales.translation.packages import SENTENCE_SPLITTER

        (pkg / "minisbd").mkdir()
        shutil.copyfile(SENTENCE_SPLITTER, pkg / "minisbd" / "splitter.onnx")
    archive = out_dir / f"{name}.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(pkg.rglob("*")):
            zf.write(path, path.relative_to(out_dir))
    shutil.rmtree(pkg)
    return archive
