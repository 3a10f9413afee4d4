use super::*;
use serde_json::json;

fn shanghai() -> Tz {
    chrono_tz::Asia::Shanghai
}

#[test]
fn create_request_uses_documented_names_and_skips_none() {
    let body = CreateConference {
        subject: "创建会议".into(),
        invite_ids: Some(vec![3_000_000_001]),
        vote_ids: Some(vec!["v1".into()]),
        order_config: Some(OrderConfig {
            period_type: Some(0),
            ..OrderConfig::default()
        }),
        attributes: Some(Attributes {
            water_mark: Some(1),
            vwallo: Some(2000),
            ..Attributes::default()
        }),
        ..CreateConference::default()
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "subject": "创建会议",
            "inviteIds": [3_000_000_001_i64],
            "votelds": ["v1"],
            "orderConfig": {"periodType": 0},
            "attributes": {"waterMark": 1, "vwallo": 2000}
        })
    );
}

#[test]
fn update_request_uses_invitee_ids() {
    let body = UpdateConference {
        subject: Some("修改会议".into()),
        invitee_ids: Some(vec![1]),
        permission: Some(Permission {
            save_wb: Some(1),
            public_im: Some(0),
            ..Permission::default()
        }),
        ..UpdateConference::default()
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"subject": "修改会议", "inviteeIds": [1],
               "permission": {"saveWB": 1, "publicIM": 0}})
    );
}

#[test]
fn request_variant_spellings_are_accepted_on_input() {
    let c: CreateConference =
        serde_json::from_value(json!({"subject": "s", "inviteeIds": [1], "voteIds": ["a"]}))
            .unwrap();
    assert_eq!(c.invite_ids, Some(vec![1]));
    assert_eq!(c.vote_ids, Some(vec!["a".to_string()]));
    let u: UpdateConference = serde_json::from_value(json!({"inviteIds": [2]})).unwrap();
    assert_eq!(u.invitee_ids, Some(vec![2]));
}

#[test]
fn list_query_skips_unset_fields() {
    let q = ListQuery {
        start_time: Some(1_616_655_277),
        ..ListQuery::page(1, 100)
    };
    assert_eq!(
        serde_json::to_value(&q).unwrap(),
        json!({"startTime": 1_616_655_277, "current": 1, "size": 100})
    );
    let q = ListQuery {
        search_user_id: Some(5),
        ..ListQuery::page(2, 20)
    };
    assert_eq!(
        serde_json::to_value(q.paging_only()).unwrap(),
        json!({"current": 2, "size": 20})
    );
}

#[test]
fn secrets_in_requests_are_sent_but_not_debugged() {
    let user = CreateUser {
        account: "test@cloudroom.com".into(),
        password: SecretString::from("pw-123456"),
        name: "test".into(),
        mobile: Some("18927450001".into()),
        department_id: Some(102),
        role_type: Some(2),
        email: Some("test@163.com".into()),
    };
    assert_eq!(
        serde_json::to_value(&user).unwrap(),
        json!({"account": "test@cloudroom.com", "password": "pw-123456", "name": "test",
               "mobile": "18927450001", "departmentId": 102, "roleType": 2,
               "email": "test@163.com"})
    );
    assert!(!format!("{user:?}").contains("pw-123456"));
    let company = CreateCompany {
        comp_guid: "mytestGUID".into(),
        comp_name: "测试CompName".into(),
        admin: "mytest@cloudroom.com".into(),
        admin_name: "测试01".into(),
        admin_pwd: SecretString::from("adm-pw"),
    };
    let v = serde_json::to_value(&company).unwrap();
    assert_eq!(v["compGUID"], "mytestGUID");
    assert_eq!(v["adminPwd"], "adm-pw");
    assert!(!format!("{company:?}").contains("adm-pw"));
    let update = UpdateUser {
        name: Some("n".into()),
        ..UpdateUser::default()
    };
    assert_eq!(serde_json::to_value(&update).unwrap(), json!({"name": "n"}));
}

#[test]
fn decodes_create_and_join_examples() {
    let c: CreatedConference = serde_json::from_value(json!({"confId": 12345678})).unwrap();
    assert_eq!(c.conf_id, 12_345_678);
    let c: CreatedConference = serde_json::from_value(json!({"confId": "4294967296"})).unwrap();
    assert_eq!(c.conf_id, 4_294_967_296);
    let j: JoinResult = serde_json::from_value(json!({"crmt": "CRMT:LU1FRVRUWVBFPUIFRVRNR1IKLU1HUKFDTlQ9MTU40TA5MDgwODA7ZTEwYWRjMzk0OWJhNTlhYmJlNTZlMDU3ZjIwZjg4M2UKLU1H"})).unwrap();
    assert!(j.crmt.starts_with("CRMT:"));
}

fn detail_example() -> Value {
    json!({"confDetail": {
        "confId": 12345678, "subject": "会议主题",
        "url": "http://www.cloudroom.com/abcdef",
        "publicUrl": "http://www.cloudroom.com/abc123",
        "hostId": 1000141441, "hostName": "云屋科技", "status": 0,
        "pstnPwd": "123456", "pstnNum": "008612345678901",
        "orderConfig": {"scheduleTime": "2021-04-14 15:07:31",
                        "scheduleEndTime": "2021-04-14 17:07:31",
                        "periodType": 0, "periodEndTime": ""},
        "attributes": {"autoOpenCamera": 0, "autoOpenMicrophone": 0, "micUseLocal": 0,
                       "cameraUseLocal": 0, "loginIvr": 0, "onlyInvitee": 0, "onlyComp": 0,
                       "canJoinAdv": 1, "virtualMembers": 0, "waterMark": 0, "vwalldo": 0},
        "permission": {"createWB": 0, "saveWB": 0, "publicIM": 0, "privateIM": 0,
                       "recordConf": 0, "uploadDoc": 0, "openMicrophone": 0, "openCamera": 0,
                       "shareOrUpload": 0, "srvRecord": 0, "pstnCall": 0,
                       "allowModifyName": 0, "imForbidPic": 0, "imForbidUrl": 0,
                       "allowShare": 0}
    }})
}

#[test]
fn decodes_detail_example_with_wall_clock_times() {
    let d = ConferenceDetail::from_value(detail_example(), shanghai()).unwrap();
    assert_eq!(d.conf_id, Some(12_345_678));
    assert_eq!(d.host_id, Some(1_000_141_441));
    assert_eq!(d.pstn_num.as_deref(), Some("008612345678901"));
    let o = d.order_config.clone().unwrap();
    // 15:07:31 in Shanghai (UTC+8) is 07:07:31 UTC.
    assert_eq!(
        o.schedule_time.unwrap().to_rfc3339(),
        "2021-04-14T07:07:31+00:00"
    );
    assert_eq!(
        o.schedule_end_time.unwrap().to_rfc3339(),
        "2021-04-14T09:07:31+00:00"
    );
    assert_eq!(o.period_end_time, None);
    assert!(!o.period_never_ends);
    let a = d.attributes.clone().unwrap();
    assert_eq!(a.vwallo, Some(0));
    assert_eq!(a.can_join_adv, Some(1));
    let p = d.permission.clone().unwrap();
    assert_eq!(p.create_wb, Some(0));
    assert_eq!(p.im_forbid_url, Some(0));
    assert_eq!(d.raw["subject"], "会议主题");
    assert!(d.invitee_infos.is_empty());
}

#[test]
fn detail_times_follow_the_configured_zone() {
    let utc = ConferenceDetail::from_value(detail_example(), chrono_tz::UTC).unwrap();
    assert_eq!(
        utc.order_config
            .unwrap()
            .schedule_time
            .unwrap()
            .to_rfc3339(),
        "2021-04-14T15:07:31+00:00"
    );
}

#[test]
fn detail_tolerates_epochs_strings_and_odd_shapes() {
    let body = json!({"confDetail": {
        "confId": "3000000000", "hostId": "12", "status": "1",
        "inviteeInfos": [{"inviteId": 4294967297_i64, "inviteeName": "a", "inviteeType": 0},
                         {"inviteeId": "5", "inviteeName": 7}],
        "assistantInfos": null,
        "orderConfig": {"scheduleTime": 1618384051, "scheduleEndTime": "1618391251",
                        "periodType": "3", "periodEndTime": -1},
        "attributes": null, "somethingNew": {"x": 1}
    }});
    let d = ConferenceDetail::from_value(body, shanghai()).unwrap();
    assert_eq!(d.conf_id, Some(3_000_000_000));
    assert_eq!(d.status, Some(1));
    assert_eq!(d.invitee_infos.len(), 2);
    assert_eq!(d.invitee_infos[0].invite_id, Some(4_294_967_297));
    assert_eq!(d.invitee_infos[1].invite_id, Some(5));
    assert_eq!(d.invitee_infos[1].invitee_name.as_deref(), Some("7"));
    let o = d.order_config.unwrap();
    assert_eq!(o.schedule_time.unwrap().timestamp(), 1_618_384_051);
    assert_eq!(o.schedule_end_time.unwrap().timestamp(), 1_618_391_251);
    assert_eq!(o.period_type, Some(3));
    assert!(o.period_never_ends);
    assert_eq!(o.period_end_time, None);
    assert_eq!(d.attributes, None);
}

#[test]
fn time_strings() {
    let tz = shanghai();
    assert_eq!(parse_time(&json!(""), tz), None);
    assert_eq!(parse_time(&json!(null), tz), None);
    assert_eq!(parse_time(&json!(0), tz), None);
    assert_eq!(parse_time(&json!("garbage"), tz), None);
    assert_eq!(
        parse_time(&json!("2021-06-06 20:00:00"), tz)
            .unwrap()
            .timestamp(),
        1_622_980_800
    );
    assert_eq!(
        parse_time(&json!("1622980800"), tz).unwrap().timestamp(),
        1_622_980_800
    );
    assert_eq!(
        parse_time(&json!(1_622_980_800_000_i64), tz)
            .unwrap()
            .timestamp(),
        1_622_980_800
    );
    // Zones with DST: a nonexistent local time still resolves.
    let ny: Tz = "America/New_York".parse().unwrap();
    assert!(parse_time(&json!("2021-03-14 02:30:00"), ny).is_some());
}

fn list_example() -> Value {
    json!({"total": 1, "records": [{
        "confId": 12345678, "subject": "会议主题", "confType": 1,
        "scheduleTime": 1616655277, "scheduleEndTime": 0,
        "startTime": 1616655277, "endTime": 0, "hostName": "云屋科技",
        "members": 0, "confCode": "abcdef", "periodType": 0
    }]})
}

#[test]
fn decodes_list_and_history_examples_keeping_raw() {
    let page: Page<ConferenceRecord> = Page::from_value(list_example()).unwrap();
    assert_eq!(page.total, 1);
    // The example has no `remaining`: absent, `total` decides where the end is.
    assert!(page.remaining);
    let r = &page.records[0];
    assert_eq!(r.conf_id, Some(12_345_678));
    assert_eq!(r.conf_code.as_deref(), Some("abcdef"));
    assert_eq!(r.start_time_utc().unwrap().timestamp(), 1_616_655_277);
    assert_eq!(r.end_time_utc(), None);
    assert_eq!(r.schedule_end_time_utc(), None);
    assert_eq!(r.raw, list_example()["records"][0]);
}

#[test]
fn list_tolerates_strings_flags_and_big_ids() {
    let body = json!({"total": "250", "remaining": "1", "records": [{
        "confId": "9007199254740993", "members": "3", "status": 1,
        "password": 123456, "ownerId": 4294967296_i64, "extra": [1, 2]
    }]});
    let page: Page<ConferenceRecord> = Page::from_value(body).unwrap();
    assert_eq!(page.total, 250);
    assert!(page.remaining);
    let r = &page.records[0];
    assert_eq!(r.conf_id, Some(9_007_199_254_740_993));
    assert_eq!(r.password.as_deref(), Some("123456"));
    assert_eq!(r.owner_id, Some(4_294_967_296));
    assert_eq!(r.raw["extra"], json!([1, 2]));
    let p: Page<ConferenceRecord> =
        Page::from_value(json!({"total": 0, "remaining": true, "records": null})).unwrap();
    assert!(p.records.is_empty() && p.remaining);
}

#[test]
fn decodes_video_example() {
    let body = json!({"total": 1, "records": [{
        "title": "云屋科技的会议", "fileId": "a1b27fe0212f42458c38aa86858939ee",
        "confId": 12345678, "createTime": 1649840637, "duration": 461, "size": 6950912,
        "url": "http://www.cloudroom.com/lv//vod/a1b27fe0212f42458c38aa86858939ee/f0.mp4?download",
        "vodUrl": "http://www.cloudroom.com/vod/a1b27fe0212f42458c38aa86858939ee"
    }], "remaining": 0});
    let page: Page<VideoRecord> = Page::from_value(body).unwrap();
    let v = &page.records[0];
    assert_eq!(
        v.file_id.as_deref(),
        Some("a1b27fe0212f42458c38aa86858939ee")
    );
    assert_eq!(v.size, Some(6_950_912));
    assert_eq!(v.duration, Some(461));
    assert_eq!(v.create_time_utc().unwrap().timestamp(), 1_649_840_637);
    assert!(v.vod_url.as_deref().unwrap().contains("/vod/"));
    let big: Page<VideoRecord> = Page::from_value(json!({"records": [
        {"fileId": 387702296195782359_i64, "size": "5000000000"}]}))
    .unwrap();
    assert_eq!(big.total, 1);
    assert_eq!(
        big.records[0].file_id.as_deref(),
        Some("387702296195782359")
    );
    assert_eq!(big.records[0].size, Some(5_000_000_000));
}

#[test]
fn decodes_directory_examples() {
    let c: Company = serde_json::from_value(json!({"compGUID": "mytestGUID",
        "compName": "测试CompName", "admin": "mytest@cloudroom.com", "adminName": "测试01"}))
    .unwrap();
    assert_eq!(c.comp_guid.as_deref(), Some("mytestGUID"));
    assert_eq!(c.admin_name.as_deref(), Some("测试01"));
    let u: User = serde_json::from_value(json!({"account": "test@cloudroom.com",
        "name": "test", "mobile": 18927450001_i64, "departmentId": "102", "roleType": 2,
        "email": "test@163.com"}))
    .unwrap();
    assert_eq!(u.mobile.as_deref(), Some("18927450001"));
    assert_eq!(u.department_id, Some(102));
    let d: Department = serde_json::from_value(json!({"departmentId": 2562, "name": "test3",
        "parentId": 1668, "fullPath": "公司 > web > test3"}))
    .unwrap();
    assert_eq!(d.department_id, Some(2562));
    assert_eq!(d.full_path.as_deref(), Some("公司 > web > test3"));
}

#[test]
fn decodes_error_bodies() {
    let e: VendorError = serde_json::from_value(json!({"code": 22004, "msg": "签名过期"})).unwrap();
    assert_eq!((e.code, e.msg.as_deref()), (22004, Some("签名过期")));
    let e: VendorError = serde_json::from_value(json!({"code": "22236"})).unwrap();
    assert_eq!((e.code, e.msg), (22236, None));
}
