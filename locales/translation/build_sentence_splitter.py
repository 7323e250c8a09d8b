"""Build ``sentence_splitter.onnx``: a rule-based sentence splitter in the MiniSBD model format.

Argos packages split sentences with MiniSBD, which downloads a model unless the package folder has
``minisbd/*.onnx``. Wegwijs puts this file there at install time, so sentence splitting never needs
the network. It ends a sentence after . ! ? ؟ (Arabic/Farsi) and ። (Ethiopic).

Run once to regenerate (needs the ``onnx`` package; the app only needs ``onnxruntime``):
    python -m locales.translation.build_sentence_splitter
"""

from __future__ import annotations

import json
from pathlib import Path

ENDERS = (".", "!", "?", "؟", "።")
OUTPUT = Path(__file__).with_name("sentence_splitter.onnx")


def build(path: Path = OUTPUT) -> Path:
    import onnx
    from onnx import TensorProto, helper

    id2unit = ["<PAD>", "<UNK>", *ENDERS]
    nodes, equals = [], []
    for i, _ in enumerate(ENDERS):
        constant = helper.make_tensor(f"id{i}", TensorProto.INT64, [], [i + 2])
        nodes.append(helper.make_node("Constant", [], [f"c{i}"], value=constant))
        nodes.append(helper.make_node("Equal", ["units", f"c{i}"], [f"e{i}"]))
        equals.append(f"e{i}")
    acc = equals[0]
    for i, name in enumerate(equals[1:]):
        nodes.append(helper.make_node("Or", [acc, name], [f"or{i}"]))
        acc = f"or{i}"
    # logits = is_end * [-1, 0, 2, 0, 0] + [1, 0, 0, 0, 0]: class 0 inside a sentence, class 2 at its end.
    nodes += [
        helper.make_node("Cast", [acc], ["endf"], to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["ax"], value=helper.make_tensor("ax", TensorProto.INT64, [1], [2])),
        helper.make_node("Unsqueeze", ["endf", "ax"], ["end3"]),
        helper.make_node(
            "Constant", [], ["w"], value=helper.make_tensor("w", TensorProto.FLOAT, [5], [-1, 0, 2, 0, 0])
        ),
        helper.make_node(
            "Constant", [], ["b"], value=helper.make_tensor("b", TensorProto.FLOAT, [5], [1, 0, 0, 0, 0])
        ),
        helper.make_node("Mul", ["end3", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "wegwijs_sentence_splitter",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["B", "T"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", "T", 1]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", 5])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    vocab = {
        "lang": "",
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_id2unit": id2unit,
        "_unit2id": {u: i for i, u in enumerate(id2unit)},
    }
    meta = {
        "lang_code": "xx",
        "config": json.dumps({"feat_funcs": ["space_before"], "max_seqlen": 1000}),
        "vocab": json.dumps(vocab),
        "lexicon": "null",
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


if __name__ == "__main__":
    print(build())
