"""A SCIM 2.0 endpoint for Microsoft Entra ID provisioning, run on AWS Lambda."""
