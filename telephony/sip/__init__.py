"""An asyncio SIP core: messages, transports, transactions, dialogs, endpoint and registrar.

Written here because no maintained asyncio SIP library exists (see issue 3). The layer above
(calls/B2BUA) uses `SipEndpoint` with a `SipHandler`, `ServerTransaction.respond`,
`SipEndpoint.send_request` and `Dialog`; see each module's docstring.
"""
