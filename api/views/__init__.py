"""Thin DRF views: validate with a serializer, call a service or selector, serialize, set the status.

By subject: `tokens` (log-in for scripts, API tokens, usage), `resources` (uploads and jobs),
`classic` (the original Flask compressor's endpoints), `health`; `common` holds what they share.
"""
