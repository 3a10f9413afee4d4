//! The world.

use super::*;

/// Everything CloudRoom knows. History is kept sorted in list order so a page
/// is a slice; `history_keys` finds a confId's occurrences without a scan;
/// recordings are sorted by (confId, createTime, fileId) so one meeting's
/// recordings are a contiguous, already ordered run.
pub struct World {
    pub(crate) conferences: Vec<Conference>,
    pub(crate) history: Vec<HistoryMeeting>,
    pub(crate) history_keys: BTreeSet<(i64, i64)>,
    pub(crate) recordings: Vec<Recording>,
    pub(crate) recording_conf: HashMap<FileId, i64>,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) departments: BTreeMap<i64, Department>,
    pub(crate) companies: BTreeMap<String, Company>,
    pub(crate) next_conf_id: i64,
    pub(crate) next_department_id: i64,
    pub(crate) next_user_id: i64,
    /// For ids the simulator invents after start-up, so runs stay repeatable.
    pub(crate) rng: StdRng,
    pub(crate) rate_windows: crate::rate::RateWindows,
    /// List answers leave out `remaining`, as the document's examples do.
    pub(crate) omit_remaining: bool,
    /// `--hostile-data`: list answers carry hostile records, by this seed.
    pub(crate) hostile: Option<u64>,
    /// The detail of a conference known only from the history is 22201.
    pub(crate) ended_detail_not_found: bool,
    /// Recordings deleted since start: their files answer 410.
    pub(crate) gone_files: std::collections::HashSet<FileId>,
    /// With `--serve-files`: the simulator's address, and whether files
    /// keep their generated size.
    pub(crate) files: Option<(String, bool)>,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("conferences", &self.conferences.len())
            .field("history", &self.history.len())
            .field("recordings", &self.recordings.len())
            .field("users", &self.users.len())
            .field("departments", &self.departments.len())
            .field("companies", &self.companies.len())
            .finish()
    }
}

/// Department ids the API allocates start here, well clear of the root's 1.
pub(crate) const FIRST_DEPARTMENT_ID: i64 = 1_000;
pub(crate) const FIRST_USER_ID: i64 = 1_000_200_001;

impl World {
    pub fn generate(config: &SimConfig) -> World {
        let generated = data::generate(config);
        let history_keys = generated
            .history
            .iter()
            .map(|m| (m.conf_id, m.start_time))
            .collect();
        let recording_conf = generated
            .recordings
            .iter()
            .map(|r| (r.file_id.clone(), r.conf_id))
            .collect();
        World {
            conferences: generated.conferences,
            history: generated.history,
            history_keys,
            recordings: generated.recordings,
            recording_conf,
            users: BTreeMap::new(),
            departments: BTreeMap::new(),
            companies: BTreeMap::new(),
            next_conf_id: generated.next_conf_id,
            next_department_id: FIRST_DEPARTMENT_ID,
            next_user_id: FIRST_USER_ID,
            rng: StdRng::seed_from_u64(config.seed ^ 0x5EED_C10D_0000_0001),
            rate_windows: crate::rate::RateWindows::default(),
            omit_remaining: config.omit_remaining,
            hostile: config.hostile_data.then_some(config.seed),
            ended_detail_not_found: config.ended_detail_not_found,
            gone_files: Default::default(),
            files: None,
        }
    }

    pub fn conferences(&self) -> &[Conference] {
        &self.conferences
    }

    /// In list order: startTime desc, then confId desc.
    pub fn history(&self) -> &[HistoryMeeting] {
        &self.history
    }

    /// Ordered by confId, createTime, fileId.
    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub fn user(&self, account: &str) -> Option<&User> {
        self.users.get(account)
    }

    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.values()
    }

    pub fn companies(&self) -> impl Iterator<Item = &Company> {
        self.companies.values()
    }

    /// "公司 > a > b" for department b under top-level a.
    pub fn full_path(&self, department_id: i64) -> String {
        let mut names = Vec::new();
        let mut current = department_id;
        // The depth bound guards against a cycle, which updates refuse anyway.
        while let Some(dept) = self.departments.get(&current) {
            names.push(dept.name.as_str());
            current = dept.parent_id;
            if names.len() > self.departments.len() {
                break;
            }
        }
        names.push(ROOT_DEPARTMENT_NAME);
        names.reverse();
        names.join(" > ")
    }

    pub fn allocate_conf_id(&mut self) -> i64 {
        self.next_conf_id += 1;
        self.next_conf_id
    }

    pub fn new_file_id(&mut self) -> FileId {
        FileId::Hex(self.rng.random())
    }

    // --- history --------------------------------------------------------

    pub(crate) fn history_position(&self, conf_id: i64, start_time: i64) -> Result<usize, usize> {
        self.history
            .binary_search_by(|m| start_time.cmp(&m.start_time).then(conf_id.cmp(&m.conf_id)))
    }

    pub fn find_history(&self, conf_id: i64, start_time: i64) -> Option<&HistoryMeeting> {
        let at = self.history_position(conf_id, start_time).ok()?;
        self.history.get(at)
    }

    /// The latest occurrence of `conf_id`, if it ever ended.
    pub fn latest_history(&self, conf_id: i64) -> Option<&HistoryMeeting> {
        let &(_, start) = self
            .history_keys
            .range((conf_id, i64::MIN)..=(conf_id, i64::MAX))
            .next_back()?;
        self.find_history(conf_id, start)
    }

    /// Adds an ended meeting; `false` when (confId, startTime) already exists.
    pub fn insert_history(&mut self, meeting: HistoryMeeting) -> bool {
        match self.history_position(meeting.conf_id, meeting.start_time) {
            Ok(_) => false,
            Err(at) => {
                self.history_keys
                    .insert((meeting.conf_id, meeting.start_time));
                self.history.insert(at, meeting);
                true
            }
        }
    }

    pub fn remove_history(&mut self, conf_id: i64, start_time: i64) -> Option<HistoryMeeting> {
        let at = self.history_position(conf_id, start_time).ok()?;
        self.history_keys.remove(&(conf_id, start_time));
        Some(self.history.remove(at))
    }

    // --- conferences ----------------------------------------------------

    pub(crate) fn conference_index(&self, conf_id: i64) -> Option<usize> {
        self.conferences.iter().position(|c| c.conf_id == conf_id)
    }

    pub fn conference(&self, conf_id: i64) -> Option<&Conference> {
        self.conferences.iter().find(|c| c.conf_id == conf_id)
    }

    pub fn conference_mut(&mut self, conf_id: i64) -> Option<&mut Conference> {
        self.conferences.iter_mut().find(|c| c.conf_id == conf_id)
    }

    /// `false` when a listed conference already has this confId.
    pub fn insert_conference(&mut self, conference: Conference) -> bool {
        if self.conference_index(conference.conf_id).is_some() {
            return false;
        }
        self.conferences.push(conference);
        true
    }

    pub fn remove_conference(&mut self, conf_id: i64) -> Option<Conference> {
        let at = self.conference_index(conf_id)?;
        Some(self.conferences.remove(at))
    }

    /// Ends a listed conference: it leaves the conference list and becomes a
    /// history row ending `now` (the API then reports it with status 2).
    /// A meeting that never started is taken to have started at its
    /// schedule, or now if that is still ahead.
    pub fn end_conference(&mut self, conf_id: i64, now: i64) -> ApiResult<HistoryMeeting> {
        let Some(conf) = self.remove_conference(conf_id) else {
            return Err(self.missing_conference(conf_id, 22204));
        };
        let start_time = if conf.status == 1 && conf.start_time > 0 {
            conf.start_time.min(now)
        } else {
            conf.schedule_time.min(now)
        };
        let meeting = HistoryMeeting {
            conf_id,
            subject: Text::from(conf.subject),
            conf_type: conf.conf_type,
            start_time,
            end_time: now,
            host_name: Text::from(conf.host_name),
            members: conf.members,
            period_type: conf.period_type,
            schedule_time: conf.schedule_time,
            schedule_end_time: conf.schedule_end_time,
            conf_code: Text::from(conf.conf_code),
            host_id: conf.host_id,
        };
        // Ending a meeting twice within one second: keep the first row.
        self.insert_history(meeting.clone());
        Ok(meeting)
    }

    /// The error for a confId that is not listed: `ended_code` when it is in
    /// history, else 22201 会议不存在.
    pub(crate) fn missing_conference(&self, conf_id: i64, ended_code: i64) -> ApiError {
        if self.latest_history(conf_id).is_some() {
            ApiError::business(ended_code)
        } else {
            ApiError::business(22201)
        }
    }

    // --- recordings -----------------------------------------------------

    pub(crate) fn recording_range(&self, conf_id: i64) -> std::ops::Range<usize> {
        let start = self.recordings.partition_point(|r| r.conf_id < conf_id);
        let end = self.recordings.partition_point(|r| r.conf_id <= conf_id);
        start..end
    }

    pub fn find_recording(&self, file_id: &FileId) -> Option<&Recording> {
        let conf_id = *self.recording_conf.get(file_id)?;
        let range = self.recording_range(conf_id);
        self.recordings[range]
            .iter()
            .find(|r| &r.file_id == file_id)
    }

    /// `false` when the fileId already exists.
    pub fn insert_recording(&mut self, mut recording: Recording) -> bool {
        if self.recording_conf.contains_key(&recording.file_id) {
            return false;
        }
        if let (Some((base, full_size)), None) = (&self.files, &recording.url) {
            crate::files::point_at_file(&mut recording, base, *full_size);
        }
        let at = self
            .recordings
            .partition_point(|r| r.sort_key() < recording.sort_key());
        self.recording_conf
            .insert(recording.file_id.clone(), recording.conf_id);
        self.recordings.insert(at, recording);
        true
    }

    /// Points every recording's `url` at the simulator's files (and sizes
    /// them as served), and so every recording added later.
    pub fn serve_files_at(&mut self, base: &str, full_size: bool) {
        self.files = Some((base.to_string(), full_size));
        for recording in &mut self.recordings {
            crate::files::point_at_file(recording, base, full_size);
        }
    }

    pub fn remove_recording(&mut self, file_id: &FileId) -> Option<Recording> {
        self.gone_files.insert(file_id.clone());
        let conf_id = self.recording_conf.remove(file_id)?;
        let range = self.recording_range(conf_id);
        let offset = self.recordings[range.clone()]
            .iter()
            .position(|r| &r.file_id == file_id)?;
        Some(self.recordings.remove(range.start + offset))
    }
}
