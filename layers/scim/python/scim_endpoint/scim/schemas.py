"""The SCIM schemas this service serves (RFC 7643 §4, §7, §8.7.1), as typed definitions (`definitions.py`).

Kept in code rather than JSON files so a cold start does no file I/O. Every attribute carries all of its
characteristics (RFC 7643 §7 defaults written out), and no value is ever None: Entra says "If a value isn't present,
don't send null values". The common attributes `id`, `externalId` and `meta` (RFC 7643 §3.1) belong to every
resource and so are not listed in any schema (`COMMON` defines them for PATCH paths).

Where the §8.7.1 listing departs from the RFC text or has errata, the RFC text wins; each such place says so.
"""

from __future__ import annotations

from .definitions import Attribute, Dialect, Schema

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _attribute(
    name: str,
    description: str,
    *,
    canonical_values: list[str] | None = None,
    reference_types: list[str] | None = None,
    sub_attributes: list[Attribute] | None = None,
    **characteristics,
) -> Attribute:
    return Attribute(
        name, description,
        canonical_values=tuple(canonical_values) if canonical_values is not None else None,
        reference_types=tuple(reference_types) if reference_types is not None else None,
        sub_attributes=tuple(sub_attributes) if sub_attributes is not None else None,
        **characteristics,
    )


# Errata 8358: "display" is readWrite everywhere except User.groups, so its description drops "READ-ONLY."
_DISPLAY = "A human-readable name, primarily used for display purposes."
_PRIMARY_TRUE_ONCE = "The primary attribute value 'true' MUST appear no more than once."


def _display(mutability: str = "readWrite") -> Attribute:
    description = _DISPLAY if mutability == "readWrite" else f"{_DISPLAY} READ-ONLY."
    return _attribute("display", description, mutability=mutability)


def _primary(example: str | None = None) -> Attribute:
    description = "A Boolean value indicating the 'primary' or preferred attribute value for this attribute"
    if example:
        description += f", e.g., {example}"
    return _attribute("primary", f"{description}. {_PRIMARY_TRUE_ONCE}", type="boolean")


def _type(description: str, canonical_values: list[str] | None = None) -> Attribute:
    return _attribute("type", description, canonical_values=canonical_values)


_WORK_HOME_OTHER = ["work", "home", "other"]


USER_SCHEMA = Schema(
    USER,
    "User",
    "User Account",
    (
        _attribute(
            "userName",
            "Unique identifier for the User, typically used by the user to directly authenticate to the service "
            "provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the "
            "service provider's entire set of Users. REQUIRED.",
            required=True,
            uniqueness="server",
        ),
        _attribute(
            "name",
            "The components of the user's real name. Providers MAY return just the full name as a single string in "
            "the formatted sub-attribute, or they MAY return just the individual component attributes using the "
            "other sub-attributes, or they MAY return both. If both variants are returned, they SHOULD be describing "
            "the same name, with the formatted name indicating how the component attributes should be combined.",
            type="complex",
            sub_attributes=[
                _attribute(
                    "formatted",
                    "The full name, including all middle names, titles, and suffixes as appropriate, formatted for "
                    "display (e.g., 'Ms. Barbara J Jensen, III').",
                ),
                _attribute(
                    "familyName",
                    "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the "
                    "full name 'Ms. Barbara J Jensen, III').",
                ),
                _attribute(
                    "givenName",
                    "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the "
                    "full name 'Ms. Barbara J Jensen, III').",
                ),
                _attribute(
                    "middleName",
                    "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                _attribute(
                    "honorificPrefix",
                    "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the "
                    "full name 'Ms. Barbara J Jensen, III').",
                ),
                _attribute(
                    "honorificSuffix",
                    "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the "
                    "full name 'Ms. Barbara J Jensen, III').",
                ),
            ],
        ),
        _attribute(
            "displayName",
            "The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User "
            "being described, if known.",
        ),
        _attribute(
            "nickName",
            "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'. This "
            "attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge').",
        ),
        _attribute(
            "profileUrl",
            "A fully qualified URL pointing to a page representing the User's online profile.",
            type="reference",
            reference_types=["external"],
        ),
        _attribute("title", 'The user\'s title, such as "Vice President."'),
        _attribute(
            "userType",
            "Used to identify the relationship between the organization and the user. Typical values used might be "
            "'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used.",
        ),
        _attribute(
            "preferredLanguage",
            "Indicates the User's preferred written or spoken language. Generally used for selecting a localized "
            "user interface; e.g., 'en_US' specifies the language English and country US.",
        ),
        _attribute(
            "locale",
            "Used to indicate the User's default location for purposes of localizing items such as currency, date "
            "time format, or numerical representations.",
        ),
        _attribute(
            "timezone",
            "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
        ),
        _attribute("active", "A Boolean value indicating the User's administrative status.", type="boolean"),
        _attribute(
            "password",
            "The User's cleartext password. This attribute is intended to be used as a means to specify an initial "
            "password when creating a new User or to reset an existing User's password.",
            mutability="writeOnly",
            returned="never",
        ),
        _attribute(
            "emails",
            "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., "
            "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and "
            "'other'.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute(
                    "value",
                    "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., "
                    "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', "
                    "'home', and 'other'.",
                ),
                _display(),
                _type("A label indicating the attribute's function, e.g., 'work' or 'home'.", _WORK_HOME_OTHER),
                _primary("the preferred mailing address or primary email address"),
            ],
        ),
        _attribute(
            "phoneNumbers",
            "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the "
            "format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', "
            "'mobile', 'fax', 'pager', and 'other'.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "Phone number of the User."),
                _display(),
                _type(
                    "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
                    ["work", "home", "mobile", "fax", "pager", "other"],
                ),
                _primary("the preferred phone number or primary phone number"),
            ],
        ),
        _attribute(
            "ims",
            "Instant messaging addresses for the User.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "Instant messaging address for the User."),
                _display(),
                _type(
                    "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
                    ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                ),
                _primary("the preferred messenger or primary messenger"),
            ],
        ),
        _attribute(
            "photos",
            "URLs of photos of the User.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "URL of a photo of the User.", type="reference", reference_types=["external"]),
                _display(),
                _type(
                    "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
                    ["photo", "thumbnail"],
                ),
                _primary("the preferred photo or thumbnail"),
            ],
        ),
        _attribute(
            "addresses",
            "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'. This "
            "attribute is a complex type with the following sub-attributes.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute(
                    "formatted",
                    "The full mailing address, formatted for display or use with a mailing label. This attribute MAY "
                    "contain newlines.",
                ),
                _attribute(
                    "streetAddress",
                    "The full street address component, which may include house number, street name, P.O. box, and "
                    "multi-line extended street address information. This attribute MAY contain newlines.",
                ),
                _attribute("locality", "The city or locality component."),
                _attribute("region", "The state or region component."),
                _attribute("postalCode", "The zip code or postal code component."),
                _attribute("country", "The country name component."),
                # The §8.7.1 listing omits display and primary; §2.4 gives them to multi-valued attributes and
                # the §8.2/§8.3 examples send addresses[].primary.
                _display(),
                _type("A label indicating the attribute's function, e.g., 'work' or 'home'.", _WORK_HOME_OTHER),
                _primary("the preferred mailing address"),
            ],
        ),
        _attribute(
            "groups",
            "A list of groups to which the user belongs, either through direct membership, through nested groups, "
            "or dynamically calculated.",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            sub_attributes=[
                # Holds a Group's `id`, which is case-exact (§3.1), as errata 8472 settles for manager.value.
                _attribute("value", "The identifier of the User's group.", case_exact=True, mutability="readOnly"),
                _attribute(
                    "$ref",
                    "The URI of the corresponding 'Group' resource to which the user belongs.",
                    type="reference",
                    # Errata 8471 (verified): a user's groups reference Groups only, not ["User", "Group"].
                    reference_types=["Group"],
                    mutability="readOnly",
                ),
                _display(mutability="readOnly"),
                _attribute(
                    "type",
                    "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
                    canonical_values=["direct", "indirect"],
                    mutability="readOnly",
                ),
            ],
        ),
        _attribute(
            "entitlements",
            "A list of entitlements for the User that represent a thing the User has.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "The value of an entitlement."),
                _display(),
                _type("A label indicating the attribute's function."),
                _primary(),
            ],
        ),
        _attribute(
            "roles",
            "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "The value of a role."),
                _display(),
                _type("A label indicating the attribute's function.", []),
                _primary(),
            ],
        ),
        _attribute(
            "x509Certificates",
            "A list of certificates issued to the User.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                _attribute("value", "The value of an X.509 certificate.", type="binary"),
                _display(),
                _type("A label indicating the attribute's function.", []),
                _primary(),
            ],
        ),
    ),
)


ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise User",
    (
        _attribute(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or "
            "association with an organization.",
        ),
        _attribute("costCenter", "Identifies the name of a cost center."),
        _attribute("organization", "Identifies the name of an organization."),
        _attribute("division", "Identifies the name of a division."),
        _attribute("department", "Identifies the name of a department."),
        _attribute(
            "manager",
            "The User's manager. A complex type that optionally allows service providers to represent "
            "organizational hierarchy by referencing the 'id' attribute of another User.",
            type="complex",
            dialect=Dialect(single_reference=True),
            sub_attributes=[
                # Not required: Entra sends manager with only `value`, and RFC 7643 §4.3 makes value and $ref
                # optional whatever the listing says. caseExact true: it holds an `id` (errata 8472).
                _attribute("value", "The id of the SCIM resource representing the User's manager.", case_exact=True),
                _attribute(
                    "$ref",
                    "The URI of the SCIM resource representing the User's manager.",
                    type="reference",
                    reference_types=["User"],
                ),
                _attribute(
                    "displayName",
                    "The displayName of the User's manager. OPTIONAL and READ-ONLY.",
                    mutability="readOnly",
                ),
            ],
        ),
    ),
)


GROUP_SCHEMA = Schema(
    GROUP,
    "Group",
    "Group",
    (
        _attribute(
            "displayName",
            "A human-readable name for the Group. REQUIRED.",
            # Errata 5368 (verified): §4.2 and the description say REQUIRED; the listing said required false.
            required=True,
            # The listing says none; this service keeps displayName unique per tenant, ignoring case, because Entra
            # matches groups on it and its validator expects 409 for a duplicate.
            uniqueness="server",
        ),
        _attribute(
            "members",
            "A list of members of the Group.",
            type="complex",
            multi_valued=True,
            sub_attributes=[
                # Holds a User's `id`, which is case-exact (§3.1), as errata 8472 settles for manager.value.
                _attribute(
                    "value",
                    "Identifier of the member of this Group.",
                    case_exact=True,
                    mutability="immutable",
                ),
                _attribute(
                    "$ref",
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                    type="reference",
                    # This service's groups hold users only, so not ["User", "Group"] as in the RFC.
                    reference_types=["User"],
                    mutability="immutable",
                ),
                # The §8.7.1 listing omits display; §2.4 gives it to multi-valued attributes and Entra may send it.
                _attribute("display", _DISPLAY, mutability="immutable"),
                _attribute(
                    "type",
                    "A label indicating the type of resource, e.g., 'User'.",
                    # Users only, as for $ref above.
                    canonical_values=["User"],
                    mutability="immutable",
                ),
            ],
        ),
    ),
)


SCHEMAS: dict[str, Schema] = {USER: USER_SCHEMA, ENTERPRISE_USER: ENTERPRISE_USER_SCHEMA, GROUP: GROUP_SCHEMA}

# The common attributes (RFC 7643 §3.1), as PATCH paths resolve them: `externalId` is the only writable one; `meta`
# has its sub-attributes so that `meta.created` is refused as read-only rather than as an unknown path.
COMMON = Schema("", "Common", "The attributes every resource has (RFC 7643 §3.1).", (
    Attribute("id", "A unique identifier for a SCIM resource as defined by the service provider.", case_exact=True,
              mutability="readOnly", returned="always", uniqueness="server"),
    Attribute("externalId", "A String that is an identifier for the resource as defined by the provisioning client.",
              case_exact=True),
    Attribute("meta", "A complex attribute containing resource metadata.", type="complex", mutability="readOnly",
              sub_attributes=tuple(
                  Attribute(name, f"The resource's {name}.", mutability="readOnly", case_exact=name in ("location",
                                                                                                    "version"))
                  for name in ("resourceType", "created", "lastModified", "location", "version"))),
    Attribute("schemas", "The schema URIs the resource holds.", multi_valued=True, mutability="readOnly",
              returned="always"),
))
