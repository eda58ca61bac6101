//! Teams, units and users: identifiers, the OU tree, blocking, and the admin directory API.

use super::*;

pub fn user_identifiers_resolve_by_id_sip_upn_any_case(api: &Api) {
    let key = api.key(&["UsersReadonly"]);
    for identifier in [
        ANNA.to_string(),
        ANNA.to_uppercase(),
        "sip:anna@contoso.com".into(),
        "SIP:Anna@Contoso.COM".into(),
        "sip%3Aanna%40contoso.com".into(),
        "anna@contoso.com".into(),
        "ANNA.UPN@CONTOSO.COM".into(),
    ] {
        let user = assert_status(
            &api.call(&key, "GET", &format!("/v1.0/users/{identifier}"), None),
            200,
        );
        assert_eq!(user["Id"], ANNA, "{identifier}");
        assert_eq!(user["DisplayName"], "Anna Keller");
    }
    for unknown in [
        "zoe@contoso.com",
        "5e000000-0000-4000-8000-00000000ffff",
        "not a user",
    ] {
        let message = assert_error(
            &api.call(&key, "GET", &format!("/v1.0/users/{unknown}"), None),
            404,
            "NotFound",
        );
        assert!(message.contains(unknown), "{message}");
    }
    let users = assert_status(&api.call(&key, "GET", "/v1.0/users", None), 200);
    let names: Vec<&str> = users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["DisplayName"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Anna Keller", "Ben Meier", "Carla Rossi", "Dan Brun"]
    );
    let members = assert_status(
        &api.call(&key, "GET", "/v1.0/teams/SIP:EMEA@contoso.com/users", None),
        200,
    );
    assert_eq!(members[0]["Id"], BEN);
    assert_eq!(members[0]["TeamId"], TEAM_EMEA);
    assert_eq!(members[0]["IsActive"], true);
    assert_eq!(members[1]["Upn"], "carla.upn@contoso.com");
}

pub fn teams_and_organization_units(api: &Api) {
    let key = api.key(&["TeamsReadonly"]);
    let names = |path: &str| -> Vec<String> {
        let body = assert_status(&api.call(&key, "GET", path, None), 200);
        body.as_array()
            .into_iter()
            .flatten()
            .map(|t| t["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names("/v1.0/teams"), ["EMEA", "Sales", "Support"]);
    assert_eq!(names("/v1.0/teams?status=Active"), ["EMEA", "Support"]);
    assert_eq!(names("/v1.0/teams?Status=inactive"), ["Sales"]);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams?status=Sleeping", None),
        400,
        "BadRequest",
    );
    assert_eq!(
        names(&format!("/v1.0/teams/bymember/{BEN}")),
        ["EMEA", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_CARE}/teams")),
        ["EMEA", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_ROOT}/teams")),
        ["EMEA", "Sales", "Support"]
    );
    assert_eq!(
        names(&format!("/v1.0/organizationunits/{OU_CARE_EMEA}/teams")),
        ["EMEA"]
    );
    assert_error(
        &api.call(
            &key,
            "GET",
            "/v1.0/organizationunits/0e000000-0000-4000-8000-0000000000ff/teams",
            None,
        ),
        404,
        "NotFound",
    );
    let team = assert_status(
        &api.call(&key, "GET", "/v1.0/teams/sip:support@contoso.com", None),
        200,
    );
    assert_eq!(team["Id"], TEAM_SUPPORT);
    assert_eq!(team["OrganizationUnitId"], OU_CARE);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams/sip:nobody@contoso.com", None),
        404,
        "NotFound",
    );
    let rights = assert_status(
        &api.call(
            &key,
            "GET",
            "/v1.0/users/ben@contoso.com/teams/conversationas",
            None,
        ),
        200,
    );
    assert_eq!(
        rights,
        json!([{"TeamId": TEAM_EMEA, "TeamName": "EMEA", "SipUri": "sip:emea@contoso.com", "ConversationAsService": "ExternalConversations"}])
    );
}

pub fn blocking_a_user_in_a_team(api: &Api) {
    let t = Tasks::new(api);
    let control = api.key(&["UsersControl"]);
    let existing = t.in_state("Connected", None);
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/users/anna@contoso.com/active");
    let member = assert_status(
        &api.call(&control, "POST", &path, Some(json!({"Active": false}))),
        200,
    );
    assert_eq!(member["IsActive"], false);
    assert_eq!(member["Id"], ANNA);
    assert_eq!(member["TeamId"], TEAM_SUPPORT);
    // Blocked: no offers from that team; existing tasks unaffected.
    let queued = t.create(TEAM_SUPPORT, "IncomingCall", "Normal");
    let message = assert_error(
        &t.act(&queued, "offer", Some(json!({"UserIdentifier": ANNA}))),
        409,
        "Conflict",
    );
    assert!(message.contains("blocked"), "{message}");
    assert_eq!(t.status(&queued), "Queued");
    t.ok(&existing, "hold", None);
    let members = assert_status(
        &api.call(
            &control,
            "GET",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/users"),
            None,
        ),
        200,
    );
    assert_eq!(members[0]["IsActive"], false);
    assert_eq!(members[1]["IsActive"], true);
    // Still active in other teams' terms: Ben can be offered.
    t.ok(&queued, "offer", Some(json!({"UserIdentifier": BEN})));
    t.ok(&queued, "decline", None);
    // Unblock.
    assert_eq!(
        assert_status(
            &api.call(&control, "POST", &path, Some(json!({"Active": true}))),
            200
        )["IsActive"],
        true
    );
    t.ok(&queued, "offer", Some(json!({"UserIdentifier": ANNA})));
    // A non-member cannot be blocked in or offered tasks of a team.
    let path = format!("/v1.0/teams/{TEAM_SUPPORT}/users/{CARLA}/active");
    assert_error(
        &api.call(&control, "POST", &path, Some(json!({"Active": false}))),
        404,
        "NotFound",
    );
    let other = t.create(TEAM_SUPPORT, "ExternalTask", "Normal");
    assert_error(
        &t.act(&other, "offer", Some(json!({"UserIdentifier": CARLA}))),
        400,
        "BadRequest",
    );
    assert_error(
        &api.call(
            &control,
            "POST",
            &format!("/v1.0/teams/{TEAM_SUPPORT}/users/{ANNA}/active"),
            Some(json!({"Active": "no"})),
        ),
        400,
        "BadRequest",
    );
}

pub fn admin_directory_validation(api: &Api) {
    let base = directory();
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut dangling_team = base.clone();
    dangling_team["Memberships"][0]["TeamId"] = json!("7e000000-0000-4000-8000-0000000000ff");
    cases.push(("dangling membership", dangling_team, "Memberships"));
    let mut dangling_ou = base.clone();
    dangling_ou["Teams"][0]["OrganizationUnitId"] = json!("0e000000-0000-4000-8000-0000000000ff");
    cases.push(("dangling OU", dangling_ou, "OrganizationUnitId"));
    let mut cycle = base.clone();
    cycle["OrganizationUnits"][0]["ParentId"] = json!(OU_CARE_EMEA);
    cases.push(("OU cycle", cycle, "cycle"));
    let mut duplicate = base.clone();
    duplicate["Users"][1]["SipUri"] = json!("SIP:anna@contoso.com");
    cases.push(("duplicate SIP", duplicate, "share"));
    let mut bad_id = base.clone();
    bad_id["Teams"][0]["Id"] = json!("team-1");
    cases.push(("invalid GUID", bad_id, "Teams[0].Id"));
    let mut bad_status = base.clone();
    bad_status["Teams"][0]["Status"] = json!("Sleeping");
    cases.push(("unknown enum", bad_status, "Teams[0].Status"));
    // The published schema asks for a non-blank Name (minLength 1, a non-space character).
    for blank in ["", "   "] {
        let mut unnamed_ou = base.clone();
        unnamed_ou["OrganizationUnits"][1]["Name"] = json!(blank);
        cases.push(("blank OU name", unnamed_ou, OU_CARE));
    }
    cases.push(("array body", json!([base.clone()]), "JSON object"));
    for (name, body, needle) in cases {
        let message = assert_error(
            &api.admin("PUT", "/admin/v1.0/directory", Some(body)),
            400,
            "BadRequest",
        );
        assert!(message.contains(needle), "{name}: {message}");
    }
    // The stored directory is untouched by the refused ones.
    let stored = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(stored, base);
    let wrong = tm_core::Request::new("GET", "/admin/v1.0/directory")
        .header("Authorization", "Bearer wrong");
    assert_error(&api.send(wrong), 401, "Unauthorized");
}

pub fn admin_directory_one_entity_at_a_time(api: &Api) {
    let key = api.key(&["TeamsReadonly", "UsersReadonly", "TasksManage"]);
    let unit = "0e000000-0000-4000-8000-0000000000b1";
    let team = "7e000000-0000-4000-8000-0000000000b1";
    let user = "5e000000-0000-4000-8000-0000000000b1";
    let put = |path: String, body: Value| api.admin("PUT", &path, Some(body));
    let created = put(
        format!("/admin/v1.0/organizationunits/{unit}"),
        json!({"Name": "Night shift", "ParentId": OU_CARE}),
    );
    assert_eq!(assert_status(&created, 201)["Name"], "Night shift");
    let team_body = json!({"Name": "Night", "Description": "After hours", "SipUri": "sip:night@contoso.com",
        "OrganizationUnitId": unit, "Status": "Active"});
    assert_status(
        &put(format!("/admin/v1.0/teams/{team}"), team_body.clone()),
        201,
    );
    assert_status(
        &put(format!("/admin/v1.0/teams/{team}"), team_body.clone()),
        200,
    );
    let user_body = json!({"DisplayName": "Eva Roth", "FirstName": "Eva", "LastName": "Roth",
        "Upn": "eva.upn@contoso.com", "SipUri": "sip:eva@contoso.com", "Email": "eva@contoso.com"});
    assert_status(
        &put(format!("/admin/v1.0/users/{user}"), user_body.clone()),
        201,
    );
    // Eva joins a team with a conversation-as right there (both created: 201).
    let join = |team: &str, service: &str| {
        assert_status(
            &put(
                format!("/admin/v1.0/teams/{team}/members/{user}"),
                json!({"IsActive": true}),
            ),
            201,
        );
        assert_status(
            &put(
                format!("/admin/v1.0/users/{user}/conversationas/{team}"),
                json!({"ConversationAsService": service}),
            ),
            201,
        );
    };
    let leave = |team: &str| {
        for path in [
            format!("/admin/v1.0/teams/{team}/members/{user}"),
            format!("/admin/v1.0/users/{user}/conversationas/{team}"),
        ] {
            assert_eq!(api.admin("DELETE", &path, None).status, 204, "{path}");
        }
    };
    join(team, "ExternalConversations");
    // The API sees them at once, by every identifier.
    let read = |path: &str| assert_status(&api.call(&key, "GET", path, None), 200);
    assert_eq!(read("/v1.0/teams/SIP:NIGHT@contoso.com")["Id"], team);
    assert_eq!(read("/v1.0/users/eva.upn@contoso.com")["Id"], user);
    assert_eq!(read(&format!("/v1.0/teams/{team}/users"))[0]["Id"], user);
    assert_eq!(read(&format!("/v1.0/teams/bymember/{user}"))[0]["Id"], team);
    assert_eq!(
        read(&format!("/v1.0/users/{user}/teams/conversationas"))[0]["ConversationAsService"],
        "ExternalConversations"
    );
    // Eva also joins Support; removing the Night membership and right removes exactly those.
    join(TEAM_SUPPORT, "AllConversations");
    leave(team);
    let teams_of_eva: Vec<Value> = read(&format!("/v1.0/teams/bymember/{user}"))
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(teams_of_eva.len(), 1, "{teams_of_eva:?}");
    assert_eq!(teams_of_eva[0]["Id"], TEAM_SUPPORT);
    let rights = read(&format!("/v1.0/users/{user}/teams/conversationas"));
    assert_eq!(rights.as_array().map(Vec::len), Some(1), "{rights}");
    assert_eq!(rights[0]["TeamId"], TEAM_SUPPORT);
    // And back, for what follows.
    leave(TEAM_SUPPORT);
    join(team, "ExternalConversations");
    let below_care: Vec<Value> = read(&format!("/v1.0/organizationunits/{OU_CARE}/teams"))
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(below_care.iter().any(|t| t["Id"] == team), "{below_care:?}");
    // A renamed SIP URI: the new one finds the team, the old one no longer does.
    let mut renamed = team_body.clone();
    renamed["SipUri"] = json!("sip:late@contoso.com");
    assert_status(&put(format!("/admin/v1.0/teams/{team}"), renamed), 200);
    assert_eq!(read("/v1.0/teams/sip:late@contoso.com")["Id"], team);
    assert_error(
        &api.call(&key, "GET", "/v1.0/teams/sip:night@contoso.com", None),
        404,
        "NotFound",
    );
    // Broken references and clashes are refused with a message naming them.
    let message = assert_error(
        &put(
            format!("/admin/v1.0/teams/{team}"),
            json!({"Name": "Night", "SipUri": "sip:support@contoso.com", "OrganizationUnitId": unit, "Status": "Active"}),
        ),
        400,
        "BadRequest",
    );
    assert!(message.contains("sip:support@contoso.com"), "{message}");
    let message = assert_error(
        &put(
            format!("/admin/v1.0/teams/{team}"),
            json!({"Name": "Night", "SipUri": "sip:late@contoso.com", "OrganizationUnitId": "0e000000-0000-4000-8000-0000000000ff", "Status": "Active"}),
        ),
        400,
        "BadRequest",
    );
    assert!(
        message.contains("0e000000-0000-4000-8000-0000000000ff"),
        "{message}"
    );
    // A unit with a team in it is not deleted (the team would point at nothing).
    let message = assert_error(
        &api.admin(
            "DELETE",
            &format!("/admin/v1.0/organizationunits/{unit}"),
            None,
        ),
        400,
        "BadRequest",
    );
    assert!(message.contains(unit), "{message}");
    // A team with an open task is not deleted; once the task ended, it is, with its
    // memberships and rights.
    let tasks = Tasks {
        api,
        key: key.clone(),
    };
    let open = tasks.create(team, "IncomingCall", "Normal");
    let message = assert_error(
        &api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None),
        409,
        "Conflict",
    );
    assert!(
        message.contains(team) && message.contains("open"),
        "{message}"
    );
    assert_status(&tasks.act(&open, "terminate", None), 200);
    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None)
            .status,
        204
    );
    assert_error(
        &api.admin("DELETE", &format!("/admin/v1.0/teams/{team}"), None),
        404,
        "NotFound",
    );
    assert_eq!(read(&format!("/v1.0/teams/bymember/{user}")), json!([]));
    assert_eq!(
        read(&format!("/v1.0/users/{user}/teams/conversationas")),
        json!([])
    );
    assert_eq!(
        api.admin("DELETE", &format!("/admin/v1.0/users/{user}"), None)
            .status,
        204
    );
    assert_error(
        &api.call(&key, "GET", "/v1.0/users/sip:eva@contoso.com", None),
        404,
        "NotFound",
    );
    assert_eq!(
        api.admin(
            "DELETE",
            &format!("/admin/v1.0/organizationunits/{unit}"),
            None
        )
        .status,
        204
    );
    // Everything else is as it was.
    let stored = assert_status(&api.admin("GET", "/admin/v1.0/directory", None), 200);
    assert_eq!(stored, directory());
}
