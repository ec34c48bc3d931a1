"""Development tools, never deployed: the local server, the admin command line, the activity reader and the
dashboard preview. They may import the runtime package `scim_endpoint`; nothing in it imports them."""
