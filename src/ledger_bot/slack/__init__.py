"""Ledger Bot in Slack: the Bolt adapter (``adapter``), its listeners, and Block Kit rendering.

``markup``, ``blocks`` and ``routing`` are plain Python; the rest needs the ``slack`` extra
(``pip install 'ledger-bot[slack]'``) and is imported only when Slack is configured.
"""
