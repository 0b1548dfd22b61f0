"""The webhook receiver wired to the auto-replier and served: one layer above both.

:class:`~wamkt_nb.serving.service.WebhookService` composes the store, the receiver
(:mod:`wamkt_nb.webhooks`), the auto-replier (:mod:`wamkt_nb.autoreply`) and the reply dispatcher;
``wamkt serve`` runs it as an ASGI app, :mod:`.jupyter` inside JupyterLab
(``--ServerApp.jpserver_extensions=wamkt_nb.serving=True``) and :mod:`.wiring` connects it to an
embedded sandbox. The auto-replier uses the receiver's parts, so this wiring cannot live in either.
"""


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server finds the webhook handler here (extension name ``wamkt_nb.serving``)."""
    return [{"module": "wamkt_nb.serving.jupyter"}]
