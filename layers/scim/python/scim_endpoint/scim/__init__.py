"""SCIM protocol rules (RFC 7643, RFC 7644) in pure Python: no AWS here."""
