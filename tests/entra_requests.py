"""Requests Entra ID and the Microsoft SCIM Validator send, verbatim from entra-provisioning.md, shared by the unit and
integration tests.

The bodies are shared by many tests: hand code under test a `copy.deepcopy` of one, never the constant itself, so that
no test can change another's input.
"""

from __future__ import annotations

# --- §2.3 creating a user -------------------------------------------------------------------------------------------

# §2.3 TUT "Create User"
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

# §2.3 TUT "Example 2": explicit nulls, the malformed extension URN (no last colon), top-level department and manager
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

# §2.3 validator "Create a duplicate User" [VALRUN]: the full create, enterprise extension and `roles[].primary` "True"
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

# §2.3 Meta Networks create, derived from the META attribute table (§7)
META_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "alice@contoso.com",
    "active": True,
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "phoneNumbers": [{"type": "work", "value": "+16175551212"}],
    "meta": {"resourceType": "User"}
}

# --- §2.5 updating attributes (PATCH) -------------------------------------------------------------------------------

# §2.5 TUT "Update User [Multi-valued properties]"
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

# §2.5 TUT "Default: single-valued (rename userName)"
TUT_RENAME_USER_NAME = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}

# §2.5 COMPAT "Replace multiple attributes: without flag"
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

# §2.5 COMPAT "Replace multiple attributes: with aadOptscim062020" (path-less value, dotted and URN keys)
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

# §2.5 COMPAT "Add a single-value string attribute", without the flag
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

# §2.5 COMPAT "Add a single-value string attribute", with the flag: the same body but `"op": "add"`
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

# §2.5 COMPAT2020: `primary` as a boolean, a path-less replace of `active` and `userName`
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

# §2.5 COMPAT2020: `add` on an extension URN path
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

# §2.5 TUT "Example 5": the manager set with a bare path and an array value
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

# §2.5 validator "Patch User – Remove Manager" [VALRUN]: replace with an empty value
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

# §2.6 COMPAT disable "Without flag": the string "False"
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

# §2.6 COMPAT disable "With flag": the boolean false
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

# §2.6 TUT "Disable User": `"op": "Replace"`, boolean false, `Operations` before `schemas`
TUT_DISABLE = {
    "Operations": [{"op": "Replace", "path": "active", "value": False}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}

# §2.6 the path-less disable to accept, `{"op":"replace","value":{"active":false}}`
DISABLE_PATHLESS = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": False}}]}

# --- §2.8 groups ----------------------------------------------------------------------------------------------------

# §2.8 TUT group "Create", with the extra Microsoft schema URI
TUT_GROUP_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}
