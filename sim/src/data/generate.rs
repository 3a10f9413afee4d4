//! Deterministic generation of the data by seed: hosts, series, history, recordings and the conference list

use super::*;

/// Builds the data for `config.seed` around `config.anchor()`.
pub fn generate(config: &SimConfig) -> Generated {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let pools = Pools::new();
    let anchor = config.anchor();
    let (history, recordings) = generate_history(&mut rng, &pools, anchor, config);
    let conferences = generate_conferences(&mut rng, &pools, anchor, config.conferences);
    let next_conf_id = CONFERENCE_ID_BASE + 7 * config.conferences as i64 + 1_000;
    Generated {
        conferences,
        history,
        recordings,
        next_conf_id,
    }
}

/// A six-letter meeting code (the document's example is "abcdef"), stable per id.
pub fn conf_code_for(conf_id: i64) -> String {
    let mut n = conf_id.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..6)
        .map(|_| {
            let letter = (b'a' + (n % 26) as u8) as char;
            n /= 26;
            letter
        })
        .collect()
}

/// Shared text, so a million rows hold a few hundred strings between them.
pub(crate) struct Pools {
    pub(crate) subjects: Vec<Text>,
    pub(crate) recurring: Vec<Text>,
    pub(crate) hosts: Vec<Text>,
    /// `titles[i]` is `hosts[i]` + "的会议", the document's recording title.
    pub(crate) titles: Vec<Text>,
}

pub(crate) const SUBJECTS: &[&str] = &[
    "研发周会",
    "季度复盘",
    "客户演示 · 华东",
    "客户演示 · 华南",
    "客户演示 · 华北",
    "产品评审",
    "技术分享：Rust 异步编程",
    "项目启动会",
    "月度经营分析",
    "招聘面试（后端）",
    "新人入职培训",
    "架构评审",
    "供应商沟通",
    "年度规划",
    "设计评审",
    "安全应急演练",
    "预算评审",
    "市场推广策划",
    "法务合规培训",
    "测试用例评审",
    "Q&A 答疑会",
    "O'Brien 的 1:1",
    "团建方案讨论 🎉",
    "\"双11\" 备战会",
    "跨部门协调会：财务 / 人力 / 行政 / 信息中心联合评审与预算对齐",
];

pub(crate) const RECURRING_SUBJECTS: &[&str] = &[
    "研发周会",
    "每日站会",
    "销售晨会",
    "双周迭代评审",
    "月度经营分析",
    "运维值班交接",
    "管理层例会",
];

pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
pub(crate) const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞",
];
pub(crate) const EXTRA_HOSTS: &[&str] = &["欧阳娜娜", "司马光明", CREATOR_NAME];
/// Generated hosts have ids `HOST_ID_BASE + index into the host pool`.
pub(crate) const HOST_ID_BASE: i64 = 1_000_150_000;

/// The name of the generated host `id` (`HOST_ID_BASE` + its index).
pub(crate) fn generated_host_name(id: i64) -> Option<String> {
    let index = usize::try_from(id.checked_sub(HOST_ID_BASE)?).ok()?;
    let pooled = SURNAMES.len() * GIVEN_NAMES.len();
    if index < pooled {
        let (s, g) = (index / GIVEN_NAMES.len(), index % GIVEN_NAMES.len());
        return Some(format!("{}{}", SURNAMES[s], GIVEN_NAMES[g]));
    }
    EXTRA_HOSTS.get(index - pooled).map(|h| h.to_string())
}

impl Pools {
    pub(crate) fn new() -> Self {
        let mut hosts: Vec<Text> = SURNAMES
            .iter()
            .flat_map(|s| {
                GIVEN_NAMES
                    .iter()
                    .map(move |g| Text::from(format!("{s}{g}")))
            })
            .collect();
        hosts.extend(EXTRA_HOSTS.iter().map(|h| Text::from(*h)));
        let titles = hosts
            .iter()
            .map(|h| Text::from(format!("{h}的会议")))
            .collect();
        Pools {
            subjects: SUBJECTS.iter().map(|s| Text::from(*s)).collect(),
            recurring: RECURRING_SUBJECTS.iter().map(|s| Text::from(*s)).collect(),
            hosts,
            titles,
        }
    }
}

/// Days since the epoch, counted in Asia/Shanghai.
pub(crate) fn shanghai_day(t: i64) -> i64 {
    (t + SHANGHAI_OFFSET).div_euclid(DAY)
}

pub(crate) fn shanghai_day_start(day: i64) -> i64 {
    day * DAY - SHANGHAI_OFFSET
}

pub(crate) fn is_weekend(day: i64) -> bool {
    // Day 0 (1970-01-01) was a Thursday; Monday is 0 here.
    (day + 3).rem_euclid(7) >= 5
}

pub(crate) fn add_month(day: i64) -> i64 {
    let epoch = chrono::NaiveDate::default(); // 1970-01-01
    let date = epoch + chrono::Days::new(day.max(0) as u64);
    date.checked_add_months(chrono::Months::new(1))
        .map(|next| (next - epoch).num_days())
        .unwrap_or(day + 30)
}

/// The day of the occurrence after `day` in a series of `period_type`
/// (1 daily, 2 workdays, 3 weekly, 4 fortnightly, 5 monthly).
pub(crate) fn next_occurrence_day(period_type: u8, day: i64) -> i64 {
    match period_type {
        2 => {
            let mut next = day + 1;
            while is_weekend(next) {
                next += 1;
            }
            next
        }
        3 => day + 7,
        4 => day + 14,
        5 => add_month(day),
        _ => day + 1,
    }
}

/// Upper bound of a series' length in days, to keep it before the anchor.
pub(crate) fn series_span_days(period_type: u8, occurrences: i64) -> i64 {
    let step = match period_type {
        2 => 3,
        3 => 7,
        4 => 14,
        5 => 31,
        _ => 1,
    };
    step * occurrences
}

/// A plausible scheduled start on `day`: 08:00–20:45 Shanghai, on a quarter hour.
pub(crate) fn schedule_on(rng: &mut StdRng, day: i64) -> i64 {
    shanghai_day_start(day) + rng.random_range(8..=20) * 3_600 + rng.random_range(0..4) * 900
}

/// The meeting's features shared by every occurrence of a series.
pub(crate) struct SeriesShape {
    pub(crate) conf_id: i64,
    pub(crate) subject: Text,
    pub(crate) host: usize,
    pub(crate) conf_code: Text,
    pub(crate) conf_type: u8,
    pub(crate) period_type: u8,
}

pub(crate) fn series_conf_id(rng: &mut StdRng, series: i64) -> i64 {
    let id = HISTORY_ID_BASE + series * 7 + rng.random_range(0..7);
    match series % 20 {
        3 => id + HIGH_ID_OFFSET,
        13 => id + HIGHER_ID_OFFSET,
        _ => id,
    }
}

pub(crate) fn random_members(rng: &mut StdRng) -> u32 {
    if rng.random_bool(0.8) {
        rng.random_range(1..=12)
    } else {
        rng.random_range(13..=200)
    }
}

pub(crate) fn generate_history(
    rng: &mut StdRng,
    pools: &Pools,
    anchor: i64,
    config: &SimConfig,
) -> (Vec<HistoryMeeting>, Vec<Recording>) {
    let wanted = config.history;
    let first_day = shanghai_day(anchor - 3 * 365 * DAY);
    // Two days of margin: the latest meeting still ends before the anchor.
    let last_day = shanghai_day(anchor) - 2;
    let mut history = Vec::with_capacity(wanted);
    let mut recordings = Vec::with_capacity(wanted * config.recordings_per_conference);
    let mut series = 0i64;
    while history.len() < wanted {
        let conf_id = series_conf_id(rng, series);
        series += 1;
        let (shape, occurrences) = series_shape(rng, pools, conf_id, wanted - history.len());
        let span = series_span_days(shape.period_type, occurrences as i64);
        let mut day = rng.random_range(first_day..=(last_day - span).max(first_day));
        if shape.period_type == 2 {
            while is_weekend(day) {
                day += 1;
            }
        }
        for _ in 0..occurrences {
            let meeting = occurrence(rng, pools, &shape, day);
            add_recordings(rng, pools, &meeting, shape.host, config, &mut recordings);
            history.push(meeting);
            day = next_occurrence_day(shape.period_type, day);
        }
    }
    history.sort_unstable_by(|a, b| {
        b.start_time
            .cmp(&a.start_time)
            .then(b.conf_id.cmp(&a.conf_id))
    });
    recordings.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (history, recordings)
}

/// One series: its subject, host and kind, and how many meetings it has
/// (at most `remaining`). The order of the random draws is the data's
/// identity for a seed: keep it.
fn series_shape(
    rng: &mut StdRng,
    pools: &Pools,
    conf_id: i64,
    remaining: usize,
) -> (SeriesShape, usize) {
    // ~8% of series are periodic with 2–10 occurrences: about a third of the rows.
    let periodic = rng.random_bool(0.08);
    if periodic {
        let len = rng.random_range(2..=10).min(remaining);
        let shape = SeriesShape {
            conf_id,
            subject: pools.recurring[rng.random_range(0..pools.recurring.len())].clone(),
            host: rng.random_range(0..pools.hosts.len()),
            conf_code: Text::from(conf_code_for(conf_id)),
            conf_type: 1,
            period_type: rng.random_range(1..=5),
        };
        (shape, len)
    } else {
        let shape = SeriesShape {
            conf_id,
            subject: pools.subjects[rng.random_range(0..pools.subjects.len())].clone(),
            host: rng.random_range(0..pools.hosts.len()),
            conf_code: Text::from(conf_code_for(conf_id)),
            conf_type: u8::from(rng.random_bool(0.7)),
            period_type: 0,
        };
        (shape, 1)
    }
}

pub(crate) fn occurrence(
    rng: &mut StdRng,
    pools: &Pools,
    shape: &SeriesShape,
    day: i64,
) -> HistoryMeeting {
    let scheduled = schedule_on(rng, day);
    let duration = if rng.random_bool(0.9) {
        rng.random_range(10..=120) * 60
    } else {
        rng.random_range(121..=360) * 60
    };
    let (start_time, schedule_time, schedule_end_time) = if shape.conf_type == 1 {
        let planned = rng.random_range(2..=8) * 900;
        // Scheduled meetings start a little early or late.
        (
            scheduled + rng.random_range(-300..=600),
            scheduled,
            scheduled + planned,
        )
    } else {
        // An instant meeting's schedule is its start, with no planned end.
        let start = scheduled + rng.random_range(0..900);
        (start, start, 0)
    };
    HistoryMeeting {
        conf_id: shape.conf_id,
        subject: shape.subject.clone(),
        conf_type: shape.conf_type,
        start_time,
        end_time: start_time + duration,
        host_name: pools.hosts[shape.host].clone(),
        members: random_members(rng),
        period_type: shape.period_type,
        schedule_time,
        schedule_end_time,
        conf_code: shape.conf_code.clone(),
        host_id: HOST_ID_BASE + shape.host as i64,
    }
}

pub(crate) fn add_recordings(
    rng: &mut StdRng,
    pools: &Pools,
    meeting: &HistoryMeeting,
    host: usize,
    config: &SimConfig,
    out: &mut Vec<Recording>,
) {
    let meeting_length = meeting.end_time - meeting.start_time;
    let mut create_time = meeting.end_time;
    for _ in 0..config.recordings_per_conference {
        create_time += rng.random_range(30..=900);
        let duration = rng.random_range(60..=meeting_length.max(61));
        // Every tenth recording is over 2 GiB, so sizes must be 64-bit.
        let size = if out.len() % 10 == 7 {
            rng.random_range((1u64 << 31) + 1..=(1u64 << 33))
        } else {
            duration as u64 * rng.random_range(20_000..=400_000)
        };
        out.push(Recording {
            file_id: FileId::Hex(rng.random::<[u8; 16]>()),
            title: pools.titles[host].clone(),
            conf_id: meeting.conf_id,
            create_time,
            duration,
            size,
            url: None,
            vod_url: None,
        });
    }
}

pub(crate) fn generate_conferences(
    rng: &mut StdRng,
    pools: &Pools,
    anchor: i64,
    count: usize,
) -> Vec<Conference> {
    (0..count)
        .map(|i| {
            let mut conf_id = CONFERENCE_ID_BASE + 7 * i as i64 + rng.random_range(0..7);
            if i % 10 == 3 {
                conf_id += HIGH_ID_OFFSET;
            }
            let host = rng.random_range(0..pools.hosts.len());
            let mut conf = Conference::blank(
                conf_id,
                pools.subjects[rng.random_range(0..pools.subjects.len())].to_string(),
                anchor,
            );
            conf.host_id = HOST_ID_BASE + host as i64;
            conf.owner_id = conf.host_id;
            conf.host_name = pools.hosts[host].to_string();
            // The next two hosts are invited; no random draw, so that the
            // rest of a seed's data stays as it was.
            conf.invitee_ids = (1..=2)
                .map(|k| HOST_ID_BASE + ((host + k) % pools.hosts.len()) as i64)
                .collect();
            conf.password = format!("{:06}", rng.random_range(0..1_000_000));
            conf.conf_type = 1;
            if rng.random_bool(0.2) {
                start_in_progress(rng, anchor, &mut conf);
            } else {
                // Mostly upcoming, a few overdue but not yet started.
                let offset = rng.random_range(-DAY / 900..=30 * DAY / 900) * 900;
                conf.schedule_time = anchor + offset;
            }
            conf.schedule_end_time = conf.schedule_time + rng.random_range(2..=12) * 900;
            if rng.random_bool(0.15) {
                conf.period_type = rng.random_range(1..=5);
                conf.period_end_time = if rng.random_bool(0.5) {
                    -1
                } else {
                    conf.schedule_time + 90 * DAY
                };
            }
            if rng.random_bool(0.2) {
                conf.attributes.can_join_adv = 0;
            }
            conf
        })
        .collect()
}

pub(crate) fn start_in_progress(rng: &mut StdRng, anchor: i64, conf: &mut Conference) {
    conf.status = 1;
    conf.schedule_time = anchor - rng.random_range(1..=24) * 300;
    conf.start_time = conf.schedule_time + rng.random_range(-120..=240);
    conf.members = random_members(rng);
}
