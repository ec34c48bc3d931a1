"""Change events: what each committed change of the table is for the product (`changes`), their models
(`models`), and the stream consumer that writes them to each IdP's feed and publishes them (`consumer`)."""
