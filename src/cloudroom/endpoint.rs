//! Endpoint labels shared by spans, stats, budgets and the simulator's counters.

pub const CONFERENCE_CREATE: &str = "conference.create";
pub const CONFERENCE_UPDATE: &str = "conference.update";
pub const CONFERENCE_GET: &str = "conference.get";
pub const CONFERENCE_JOIN: &str = "conference.join";
pub const CONFERENCE_END: &str = "conference.end";
pub const CONFERENCE_DELETE: &str = "conference.delete";
pub const CONFERENCE_LIST: &str = "conference.list";
pub const CONFERENCE_HISTORY: &str = "conference.history";
pub const VIDEO_LIST: &str = "video.list";
pub const VIDEO_DELETE: &str = "video.delete";
pub const COMPANY_CREATE: &str = "company.create";
pub const COMPANY_UPDATE: &str = "company.update";
pub const COMPANY_DELETE: &str = "company.delete";
pub const USER_CREATE: &str = "user.create";
pub const USER_UPDATE: &str = "user.update";
pub const USER_DELETE: &str = "user.delete";
pub const DEPARTMENT_CREATE: &str = "department.create";
pub const DEPARTMENT_UPDATE: &str = "department.update";
pub const DEPARTMENT_DELETE: &str = "department.delete";

/// Every documented endpoint.
pub const ALL: [&str; 19] = [
    CONFERENCE_CREATE,
    CONFERENCE_UPDATE,
    CONFERENCE_GET,
    CONFERENCE_JOIN,
    CONFERENCE_END,
    CONFERENCE_DELETE,
    CONFERENCE_LIST,
    CONFERENCE_HISTORY,
    VIDEO_LIST,
    VIDEO_DELETE,
    COMPANY_CREATE,
    COMPANY_UPDATE,
    COMPANY_DELETE,
    USER_CREATE,
    USER_UPDATE,
    USER_DELETE,
    DEPARTMENT_CREATE,
    DEPARTMENT_UPDATE,
    DEPARTMENT_DELETE,
];
