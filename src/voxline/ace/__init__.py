"""Everything that lets an NVIDIA ACE Agent bot folder run on Voxline.

The ACE-facing pieces live together here: the plugin server (``/{plugin}/chat`` and
``/event``) with its schemas and ``plugin_config.yaml``, the ``speech_config.yaml`` mapping,
the Colang 2 host that runs a folder's flows as a call's dialog (NeMo Guardrails, extra
``ace``), its chat actions, and the NVIDIA RAG chain server API served from Voxline's own
knowledge base.
"""
