"""Requests Entra ID and the Microsoft SCIM Validator send, verbatim from the public sources docs/entra.md names (the
doc itself shortens them), shared by the unit and integration tests. Comments cite docs/entra.md's sections.

The bodies are shared by many tests: hand code under test a `copy.deepcopy` of one, never the constant itself, so that
no test can change another's input.
"""

from __future__ import annotations

# --- §2.3 creating a user -------------------------------------------------------------------------------------------

# §2.3 the tutorial's "Create User"
TUT_CREATE = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{
        "primary": True,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}

# §2.3 the tutorial's "Example 2": explicit nulls, the malformed extension URN (no last colon), top-level department
# and manager
TUT_EXAMPLE_2 = {
    "schemas":
    [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "jyoung@testuser.com",
    "active": True,
    "addresses": None,
    "displayName": "Joy Young",
    "emails": [
        {
            "type": "work",
            "value": "jyoung@Contoso.com",
            "primary": True}],
    "meta": {
        "resourceType": "User"},
    "name": {
        "familyName": "Young",
        "givenName": "Joy"},
    "phoneNumbers": None,
    "preferredLanguage": None,
    "title": None,
    "department": None,
    "manager": None}

# §2.3 the validator's "Create a duplicate User": the full create, enterprise extension and `roles[].primary` "True"
VALIDATOR_CREATE = {
    "userName": "julien.vonrueden@ondricka.us",
    "active": True,
    "displayName": "NDSQQTECVAAC",
    "title": "CJSGUNOAAMMQ",
    "emails": [
        {"type": "work", "value": "thaddeus@hammes.info", "primary": True}
    ],
    "preferredLanguage": "hi",
    "name": {
        "givenName": "Elfrieda",
        "familyName": "Urban",
        "formatted": "Myah",
        "middleName": "Cindy",
        "honorificPrefix": "Minerva",
        "honorificSuffix": "Micaela"
    },
    "addresses": [
        {
            "type": "work",
            "formatted": "ZQEHBLETAAQE",
            "streetAddress": "25928 Katlyn Row",
            "locality": "YRAKBQCGOHZF",
            "region": "XCCVLAIDMQYR",
            "postalCode": "cx47 4mz",
            "primary": True,
            "country": "Sierra Leone"
        }
    ],
    "phoneNumbers": [
        {"type": "work", "value": "10-040-1308", "primary": True},
        {"type": "mobile", "value": "10-040-1308"},
        {"type": "fax", "value": "10-040-1308"}
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "OXYYEGWVLTGW",
        "department": "ZYWTBPDFHIIP",
        "costCenter": "ASHTVSKANCGL",
        "organization": "DPQRRHJMBXZE",
        "division": "WXNFEJQDRAVI",
        "manager": {"value": "XYMKVVRYDIOO"}
    },
    "roles": [
        {
            "primary": "True",
            "display": "MRONYWGFFHXQ",
            "value": "WDEIISGWWQBE",
            "type": "XVTUOHMYUFRL"
        }
    ],
    "userType": "GZILLRZCFPNC",
    "nickName": "FOGSIQTKHIPG",
    "locale": "RJWNTUNNOHNZ",
    "timezone": "America/Guayaquil",
    "profileUrl": "BAPNQLJSRQGD",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]
}

# §2.3 Meta Networks create, derived from the Meta Networks tutorial's attribute table (§7)
META_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "alice@contoso.com",
    "active": True,
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "phoneNumbers": [{"type": "work", "value": "+16175551212"}],
    "meta": {"resourceType": "User"}
}

# --- §2.5 updating attributes (PATCH) -------------------------------------------------------------------------------

# §2.5 the tutorial's "Update User [Multi-valued properties]"
TUT_UPDATE_MULTI_VALUED = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}

# §2.5 the tutorial's single-valued update (rename userName)
TUT_RENAME_USER_NAME = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}

# §2.5 the compatibility page's "Replace multiple attributes: without flag"
COMPAT_REPLACE_WITHOUT_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "displayName",
            "value": "Pvlo"
        },
        {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "TestBcwqnm@test.microsoft.com"
        },
        {
            "op": "Replace",
            "path": "name.givenName",
            "value": "Gtfd"
        },
        {
            "op": "Replace",
            "path": "name.familyName",
            "value": "Pkqf"
        },
        {
            "op": "Replace",
            "path": "externalId",
            "value": "Eqpj"
        },
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "value": "Eqpj"
        }
    ]
}

# §2.5 the compatibility page's "Replace multiple attributes: with aadOptscim062020" (path-less value, dotted and URN
# keys)
COMPAT_REPLACE_WITH_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "emails[type eq \"work\"].value",
            "value": "TestMhvaes@test.microsoft.com"
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }
        }
    ]
}

# §2.5 the compatibility page's "Add a single-value string attribute", without the flag
COMPAT_ADD_WITHOUT_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
      {
        "op": "Add",
        "path": "nickName",
        "value": "Babs"
      }
    ]
}

# §2.5 the compatibility page's "Add a single-value string attribute", with the flag: the same body but `"op": "add"`
COMPAT_ADD_WITH_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
      {
        "op": "add",
        "path": "nickName",
        "value": "Babs"
      }
    ]
}

# §2.5 the compatibility page's 2020 revision: `primary` as a boolean, a path-less replace of `active` and `userName`
COMPAT2020_PRIMARY_AND_PATHLESS = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "emails[type eq \"work\"].value",
            "value": "someone@contoso.com"
        },
        {
            "op": "replace",
            "path": "emails[type eq \"work\"].primary",
            "value": True
        },
        {
            "op": "replace",
            "value": {
                "active": False,
                "userName": "someone"
            }
        }
    ]
}

# §2.5 the compatibility page's 2020 revision: `add` on an extension URN path
COMPAT2020_ADD_DEPARTMENT = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "Tech Infrastructure"
        }
    ]
}

# §2.5 the tutorial's "Example 5": the manager set with a bare path and an array value
TUT_EXAMPLE_5_ADD_MANAGER = {
    "schemas":
    [
      "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations":
    [
      {
        "op": "Add",
        "path": "manager",
        "value":
          [
            {
              "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
              "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}

# §2.5 the validator's "Patch User – Remove Manager": replace with an empty value
VALIDATOR_REMOVE_MANAGER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": {
                "value": ""
            }
        }
    ]
}

# --- §2.6 disabling -------------------------------------------------------------------------------------------------

# §2.6 the compatibility page's disable "Without flag": the string "False"
DISABLE_WITHOUT_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": "False"
        }
    ]
}

# §2.6 the compatibility page's disable "With flag": the boolean false
DISABLE_WITH_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "active",
            "value": False
        }
    ]
}

# §2.6 the tutorial's "Disable User": `"op": "Replace"`, boolean false, `Operations` before `schemas`
TUT_DISABLE = {
    "Operations": [{"op": "Replace", "path": "active", "value": False}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}

# §2.6 the path-less disable to accept, `{"op":"replace","value":{"active":false}}`
DISABLE_PATHLESS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": False}}]}

# --- §2.8 groups ----------------------------------------------------------------------------------------------------

# §2.8 the tutorial's group "Create", with the extra Microsoft schema URI
TUT_GROUP_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}

# §8 the reference Postman tests' "Group tests": create with an empty member list
REF_GROUP_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "GroupA",
    "members": []}

# §2.8 the tutorial's "Rename": `"op": "Replace"` on displayName
TUT_GROUP_RENAME = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "displayName",
        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    }]
}

# §2.8 the validator's "Update Group displayName": path-less
VALIDATOR_GROUP_RENAME = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"displayName": "WUZPWMBDDCGI"}}]}

# §2.8 the validator's "Patch Group – Replace Attributes": path-less externalId
VALIDATOR_GROUP_REPLACE_EXTERNAL_ID = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"externalId": "0f3b8ae4-5e0c-4d2a-9a57-8ad1c0f6b2e1"}}]}

# The member ids below are Entra's; tests put their own users' ids in their place (`with_member_ids`).

# §2.8 the tutorial's "Add members": `"op": "Add"`, `"$ref": null`
TUT_GROUP_ADD_MEMBERS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Add",
        "path": "members",
        "value": [{
            "$ref": None,
            "value": "f648f8d5ea4e4cd38e9c"
        }]
    }]
}

# §2.8 the compatibility page's 2020 revision: the add with the flag, lower-case op
COMPAT2020_GROUP_ADD_MEMBER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "add", "path": "members", "value": [{"value": "10263a6910a84ef9a581dd9b8dcc0eae"}]}]}

# §2.8 the compatibility page's "Remove members: without flag": the member in `value`, path `members` (must remove
# ONLY that member)
COMPAT_REMOVE_MEMBER_WITHOUT_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Remove",
            "path": "members",
            "value": [
                {
                    "value": "u1091"
                }
            ]
        }
    ]
}

# §2.8 the tutorial: the same removal with `"$ref": null` inside each value
TUT_GROUP_REMOVE_MEMBERS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Remove",
        "path": "members",
        "value": [{
            "$ref": None,
            "value": "f648f8d5ea4e4cd38e9c"
        }]
    }]
}

# §2.8 the compatibility page's "Remove members: with flag": a value filter in the path
COMPAT_REMOVE_MEMBER_WITH_FLAG = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"
        }
    ]
}

# §2.8 the validator's "Patch Group – Add Member" (and its setup): replace with the full list
VALIDATOR_REPLACE_MEMBERS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "members", "value": [{"value": "<u1>"}, {"value": "<u2>"}]}]}

# §2.8 the validator's preview test "Patch Group – Multiple Ops on the same attribute": add, then remove, the same
# member
VALIDATOR_ADD_THEN_REMOVE_MEMBER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "<u1>"}]},
        {"op": "remove", "path": "members", "value": [{"value": "<u1>"}]}]}

# §8 the reference Postman tests' "Group tests": add with a `name` on the operation and a `displayName` inside the
# member
REF_ADD_MEMBER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"name": "addMember", "op": "add", "path": "members",
                    "value": [{"displayName": "new User", "value": "{{id4}}"}]}]}

# §8 the reference Postman tests: remove one member by a value filter
REF_REMOVE_MEMBER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "remove", "path": "members[value eq \"{{id4}}\"]"}]}

# §8 the reference Postman tests' "Patch remove all users": no value, no filter: the group is emptied
REF_REMOVE_ALL_MEMBERS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "remove", "path": "members"}]}

# §8 the reference Postman tests' "Group tests with garbage": a scalar member value
REF_SCALAR_MEMBER = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "add", "path": "members", "value": "string id 1"}]}

# §2.8 the tutorial's lookup and the membership check (its shape unconfirmed), as query strings
TUT_GROUP_LOOKUP_QUERY = 'excludedAttributes=members&filter=displayName eq "displayName"'
MEMBERSHIP_CHECK_FILTER = 'id eq "{group}" and members eq "{user}"'


def with_member_ids(body: dict, *user_ids: str) -> dict:
    """A copy of a group PatchOp with its member ids replaced, in order of appearance, by `user_ids` (an id seen
    again gets the same replacement; in a path filter too)."""
    import copy
    import re

    body = copy.deepcopy(body)
    seen: dict[str, str] = {}

    def mapped(old: str) -> str:
        if old not in seen:
            seen[old] = user_ids[len(seen)]
        return seen[old]

    for operation in body["Operations"]:
        value = operation.get("value")
        if isinstance(value, list):
            for member in value:
                member["value"] = mapped(member["value"])
        elif isinstance(value, str):
            operation["value"] = mapped(value)
        path = operation.get("path", "")
        match = re.search(r'value eq "([^"]*)"', path)
        if match:
            operation["path"] = path.replace(match.group(1), mapped(match.group(1)))
    return body
