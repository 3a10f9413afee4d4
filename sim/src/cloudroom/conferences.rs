//! Conferences.

use super::*;
/// The create and update bodies share every rule; they differ in which
/// fields are required and in the invitee key (`inviteIds` on create,
/// `inviteeIds` on update, exactly as the two tables spell it).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConferenceWrite {
    Create,
    Update,
}

impl World {
    /// A user's name by user id, counting the enterprise creator.
    pub(crate) fn person_name(&self, user_id: i64) -> Option<&str> {
        if user_id == CREATOR_USER_ID {
            return Some(CREATOR_NAME);
        }
        self.users
            .values()
            .find(|u| u.user_id == user_id)
            .map(|u| u.name.as_str())
    }

    /// 22223 for an unknown host; 22224 when the host is an ordinary user
    /// (roleType 3), who may join but not arrange meetings.
    pub(crate) fn check_host(&self, host_id: i64) -> ApiResult<String> {
        if host_id == CREATOR_USER_ID {
            return Ok(CREATOR_NAME.to_string());
        }
        let user = self
            .users
            .values()
            .find(|u| u.user_id == host_id)
            .ok_or_else(|| ApiError::business(22223))?;
        if user.role_type == ROLE_ORDINARY {
            return Err(ApiError::business(22224));
        }
        Ok(user.name.clone())
    }

    pub(crate) fn check_people(&self, ids: &[i64], unknown_code: i64) -> ApiResult<()> {
        match ids.iter().find(|id| self.person_name(**id).is_none()) {
            Some(_) => Err(ApiError::business(unknown_code)),
            None => Ok(()),
        }
    }

    /// Validates `request` and writes it into `conf`, in the error table's order.
    pub(crate) fn write_conference(
        &self,
        conf: &mut Conference,
        request: &Object,
        mode: ConferenceWrite,
        now: i64,
    ) -> ApiResult<()> {
        let subject = opt_str(request, "subject")?;
        if mode == ConferenceWrite::Create || subject.is_some() {
            conf.subject = validate_subject(subject)?;
        }
        if let Some(password) = opt_str(request, "password")? {
            conf.password = validate_password(password)?;
        }
        if let Some(order) = opt_object(request, "orderConfig")? {
            let base = (mode == ConferenceWrite::Update).then_some(Schedule {
                conf_type: conf.conf_type,
                schedule_time: conf.schedule_time,
                schedule_end_time: conf.schedule_end_time,
                period_type: conf.period_type,
                period_end_time: conf.period_end_time,
            });
            let schedule = parse_schedule(order, base, now)?;
            conf.conf_type = schedule.conf_type;
            conf.schedule_time = schedule.schedule_time;
            conf.schedule_end_time = schedule.schedule_end_time;
            conf.period_type = schedule.period_type;
            conf.period_end_time = schedule.period_end_time;
        }
        if let Some(host_id) = opt_int(request, "hostId")? {
            conf.host_name = self.check_host(host_id)?;
            conf.host_id = host_id;
        }
        if let Some(attributes) = opt_object(request, "attributes")? {
            apply_attributes(&mut conf.attributes, attributes)?;
        }
        if let Some(permission) = opt_object(request, "permission")? {
            apply_permission(&mut conf.permission, permission)?;
        }
        self.write_people(conf, request, mode)?;
        for (key, slot) in [
            ("emailNotice", &mut conf.email_notice),
            ("smsNotice", &mut conf.sms_notice),
        ] {
            if let Some(v) = opt_flag(request, key)? {
                *slot = v as u8;
            }
        }
        // The document's create table spells it `votelds`.
        if let Some(votes) = opt_str_list(request, "votelds")? {
            conf.vote_ids = votes;
        }
        Ok(())
    }

    /// Invitees and assistants, each checked against the users.
    fn write_people(
        &self,
        conf: &mut Conference,
        request: &Object,
        mode: ConferenceWrite,
    ) -> ApiResult<()> {
        let invitee_key = match mode {
            ConferenceWrite::Create => "inviteIds",
            ConferenceWrite::Update => "inviteeIds",
        };
        if let Some(invitees) = opt_int_list(request, invitee_key)? {
            self.check_people(&invitees, 22228)?;
            conf.invitee_ids = invitees;
        }
        if let Some(assistants) = opt_int_list(request, "assistantInfos")? {
            if assistants.len() > MAX_ASSISTANTS {
                return Err(ApiError::business(22234));
            }
            self.check_people(&assistants, 22235)?;
            conf.assistant_ids = assistants;
        }
        Ok(())
    }

    pub(crate) fn create_conference(&mut self, request: &Object, now: i64) -> ApiResult<i64> {
        let conf_id = self.next_conf_id + 1;
        let mut conf = Conference::blank(conf_id, String::new(), now);
        self.write_conference(&mut conf, request, ConferenceWrite::Create, now)?;
        // Only a valid request uses up an id.
        self.next_conf_id = conf_id;
        self.conferences.push(conf);
        Ok(conf_id)
    }

    pub(crate) fn update_conference(
        &mut self,
        conf_id: i64,
        request: &Object,
        now: i64,
    ) -> ApiResult<()> {
        let Some(index) = self.conference_index(conf_id) else {
            return Err(self.missing_conference(conf_id, 22227));
        };
        let mut conf = self.conferences[index].clone();
        if conf.status != 0 {
            return Err(ApiError::business(22227));
        }
        self.write_conference(&mut conf, request, ConferenceWrite::Update, now)?;
        self.conferences[index] = conf;
        Ok(())
    }

    pub(crate) fn people(&self, ids: &[i64]) -> Vec<PersonInfo> {
        ids.iter()
            .map(|&id| PersonInfo {
                invite_id: id,
                invitee_name: self
                    .person_name(id)
                    .map(str::to_string)
                    .or_else(|| crate::data::generate::generated_host_name(id))
                    .unwrap_or_default(),
                invitee_type: 0,
            })
            .collect()
    }

    pub(crate) fn conference_detail(&self, conf_id: i64) -> ApiResult<ConfDetail> {
        if let Some(conf) = self.conference(conf_id) {
            return Ok(ConfDetail {
                conf_id,
                subject: conf.subject.clone(),
                url: format!("http://www.cloudroom.com/{}", conf.conf_code),
                public_url: format!("http://www.cloudroom.com/p{}", conf.conf_code),
                password: conf.password.clone(),
                host_id: conf.host_id,
                host_name: conf.host_name.clone(),
                invitee_infos: self.people(&conf.invitee_ids),
                assistant_infos: self.people(&conf.assistant_ids),
                status: conf.status,
                pstn_num: pstn_number(conf_id),
                pstn_pwd: pstn_password(conf_id, &conf.password),
                email_notice: conf.email_notice,
                sms_notice: conf.sms_notice,
                order_config: OrderConfigView {
                    schedule_time: shanghai_time(conf.schedule_time),
                    schedule_end_time: shanghai_time(conf.schedule_end_time),
                    period_type: conf.period_type,
                    period_end_time: shanghai_time(conf.period_end_time),
                },
                attributes: conf.attributes.clone(),
                permission: conf.permission.clone(),
            });
        }
        let ended = self
            .latest_history(conf_id)
            .filter(|_| !self.ended_detail_not_found)
            .ok_or_else(|| ApiError::business(22201))?;
        Ok(ConfDetail {
            conf_id,
            subject: ended.subject.to_string(),
            url: format!("http://www.cloudroom.com/{}", ended.conf_code),
            public_url: format!("http://www.cloudroom.com/p{}", ended.conf_code),
            password: String::new(),
            host_id: ended.host_id,
            host_name: ended.host_name.to_string(),
            invitee_infos: Vec::new(),
            assistant_infos: Vec::new(),
            status: 2,
            pstn_num: pstn_number(conf_id),
            pstn_pwd: pstn_password(conf_id, ""),
            email_notice: 0,
            sms_notice: 0,
            order_config: OrderConfigView {
                schedule_time: shanghai_time(ended.schedule_time),
                schedule_end_time: shanghai_time(ended.schedule_end_time),
                period_type: ended.period_type,
                period_end_time: String::new(),
            },
            attributes: Attributes::default(),
            permission: Permission::default(),
        })
    }

    /// Checks in this order: nickname (22230, 22232), userType (22231),
    /// existence (22201, 22204 once ended), password (22202), who may join
    /// (22205 only invitees, 22206 only company users, matched by nickname
    /// since joining carries no user id), then 22203 when the meeting has
    /// not started and does not allow joining before the host.
    pub(crate) fn join(&self, conf_id: i64, params: &HashMap<String, String>) -> ApiResult<String> {
        let nick = params
            .get("nickName")
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::business(22230))?;
        if nick.chars().count() > MAX_NICKNAME_CHARS {
            return Err(ApiError::business(22232));
        }
        let user_type = match params.get("userType") {
            None => 4,
            Some(t) => match t.parse::<u8>() {
                Ok(t @ (1 | 4)) => t,
                _ => return Err(ApiError::business(22231)),
            },
        };
        let conf = self
            .conference(conf_id)
            .ok_or_else(|| self.missing_conference(conf_id, 22204))?;
        let given = params.get("password").map(String::as_str).unwrap_or("");
        if !conf.password.is_empty() && given != conf.password {
            return Err(ApiError::business(22202));
        }
        if conf.attributes.only_invitee == 1 {
            let invited = conf
                .invitee_ids
                .iter()
                .any(|id| self.person_name(*id) == Some(nick));
            if !invited {
                return Err(ApiError::business(22205));
            }
        }
        if conf.attributes.only_comp == 1 {
            let member = nick == CREATOR_NAME || self.users.values().any(|u| u.name == nick);
            if !member {
                return Err(ApiError::business(22206));
            }
        }
        if conf.status == 0 && conf.attributes.can_join_adv == 0 && user_type != 1 {
            return Err(ApiError::business(22203));
        }
        Ok(crmt(conf_id, nick, user_type))
    }

    pub(crate) fn conference_list(&self, query: &ListQuery) -> ListReply<ConferenceRecord<'_>> {
        let mut matching: Vec<&Conference> = self
            .conferences
            .iter()
            .filter(|c| query.in_window(c.schedule_time))
            .filter(|c| {
                query
                    .search_user_id
                    .is_none_or(|u| c.owner_id == u || c.host_id == u || c.invitee_ids.contains(&u))
            })
            .collect();
        matching.sort_unstable_by(|a, b| {
            b.schedule_time
                .cmp(&a.schedule_time)
                .then(b.conf_id.cmp(&a.conf_id))
        });
        let total = matching.len();
        page_of(
            matching.into_iter().map(ConferenceRecord::from),
            total,
            query,
        )
    }

    /// Rows with startTime inside the query window (both ends inclusive),
    /// found by binary search since history is kept in startTime order.
    pub(crate) fn history_window(&self, query: &ListQuery) -> &[HistoryMeeting] {
        let first = self
            .history
            .partition_point(|m| query.end_time.is_some_and(|e| m.start_time > e));
        let last = self
            .history
            .partition_point(|m| query.start_time.is_none_or(|s| m.start_time >= s));
        self.history.get(first..last).unwrap_or_default()
    }

    pub(crate) fn history_list(&self, query: &ListQuery) -> ListReply<&HistoryMeeting> {
        let window = self.history_window(query);
        match query.search_user_id {
            None => page_of(window.iter(), window.len(), query),
            Some(user) => {
                let hosted = window.iter().filter(move |m| m.host_id == user);
                page_of(hosted.clone(), hosted.count(), query)
            }
        }
    }

    /// Recordings of every meeting with this confId (all occurrences of a
    /// periodic one). 22201 when the confId is neither listed, nor in
    /// history, nor has recordings.
    pub(crate) fn video_list(
        &self,
        conf_id: i64,
        query: &ListQuery,
    ) -> ApiResult<ListReply<&Recording>> {
        let range = self.recording_range(conf_id);
        let known = !range.is_empty()
            || self.latest_history(conf_id).is_some()
            || self.conference(conf_id).is_some();
        if !known {
            return Err(ApiError::business(22201));
        }
        let recordings = &self.recordings[range];
        Ok(page_of(recordings.iter(), recordings.len(), query))
    }
}

pub(crate) fn pstn_number(conf_id: i64) -> String {
    format!("00862160{:07}", conf_id.rem_euclid(10_000_000))
}

pub(crate) fn pstn_password(conf_id: i64, password: &str) -> String {
    if password.is_empty() {
        format!("{:06}", conf_id.rem_euclid(1_000_000))
    } else {
        password.to_string()
    }
}

/// A CRMT string like the document's: "CRMT:" and base64 of the join ticket.
pub(crate) fn crmt(conf_id: i64, nick: &str, user_type: u8) -> String {
    let token = hex::encode(Sha256::digest(format!("{conf_id}&{nick}&{user_type}")));
    let ticket = format!(
        "-MEETTYPE=B\n-MGRACNT={conf_id};{}\n-MGRNAME={nick}\n-USERTYPE={user_type}\n",
        &token[..32]
    );
    format!(
        "CRMT:{}",
        base64::engine::general_purpose::STANDARD.encode(ticket)
    )
}
