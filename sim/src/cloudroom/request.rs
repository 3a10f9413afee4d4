//! Request parsing.

use super::*;

pub(crate) type Object = Map<String, Value>;

pub(crate) fn parse_object(body: &[u8]) -> ApiResult<Object> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ApiError::bad_request()),
    }
}

/// A present, non-null field.
pub(crate) fn field<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

pub(crate) fn opt_str<'a>(object: &'a Object, key: &str) -> ApiResult<Option<&'a str>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

pub(crate) fn opt_int(object: &Object, key: &str) -> ApiResult<Option<i64>> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(ApiError::bad_request),
    }
}

/// An integer that the document gives a format-error code for.
pub(crate) fn opt_int_or(object: &Object, key: &str, format_code: i64) -> ApiResult<Option<i64>> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::business(format_code)),
    }
}

pub(crate) fn opt_int_list(object: &Object, key: &str) -> ApiResult<Option<Vec<i64>>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_i64().ok_or_else(ApiError::bad_request))
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request()),
    }
}

pub(crate) fn opt_str_list(object: &Object, key: &str) -> ApiResult<Option<Vec<String>>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(ApiError::bad_request)
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request()),
    }
}

pub(crate) fn opt_object<'a>(object: &'a Object, key: &str) -> ApiResult<Option<&'a Object>> {
    match field(object, key) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

/// A 0/1 switch.
pub(crate) fn opt_flag(object: &Object, key: &str) -> ApiResult<Option<i32>> {
    match opt_int(object, key)? {
        None => Ok(None),
        Some(v @ (0 | 1)) => Ok(Some(v as i32)),
        Some(_) => Err(ApiError::bad_request()),
    }
}

pub(crate) fn parse_id(text: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| ApiError::bad_request())
}

/// The query string's parameters; the first of a repeated name wins and an
/// empty value counts as absent (as a Spring controller reads them).
pub(crate) fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !value.is_empty() {
            params.entry(key.into_owned()).or_insert(value.into_owned());
        }
    }
    params
}

pub(crate) fn query_int(params: &HashMap<String, String>, key: &str) -> ApiResult<Option<i64>> {
    params.get(key).map(|v| parse_id(v)).transpose()
}

/// Paging parameters outside their range fall back to the defaults ("超出范围
/// 使用默认值"); so does a number too large for a long. Non-numbers are 400.
pub(crate) fn query_paging_int(
    params: &HashMap<String, String>,
    key: &str,
) -> ApiResult<Option<i64>> {
    let Some(text) = params.get(key) else {
        return Ok(None);
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request());
    }
    Ok(text.parse().ok())
}

/// The parameters of the three list endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ListQuery {
    pub(crate) current: Option<i64>,
    pub(crate) size: Option<i64>,
    pub(crate) start_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
    pub(crate) search_user_id: Option<i64>,
}

impl ListQuery {
    pub(crate) fn parse(raw: Option<&str>, with_filters: bool) -> ApiResult<Self> {
        let params = query_params(raw);
        let mut query = ListQuery {
            current: query_paging_int(&params, "current")?,
            size: query_paging_int(&params, "size")?,
            ..ListQuery::default()
        };
        if with_filters {
            query.start_time = query_int(&params, "startTime")?;
            query.end_time = query_int(&params, "endTime")?;
            query.search_user_id = query_int(&params, "searchUserId")?;
            if let (Some(start), Some(end)) = (query.start_time, query.end_time) {
                if end.saturating_sub(start) > MAX_QUERY_WINDOW_SECS {
                    return Err(ApiError::business(22236));
                }
            }
        }
        Ok(query)
    }

    /// Both bounds inclusive; a missing bound is open.
    pub(crate) fn in_window(&self, t: i64) -> bool {
        self.start_time.is_none_or(|s| t >= s) && self.end_time.is_none_or(|e| t <= e)
    }
}

/// Which slice of `total` records a list answers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) remaining: u8,
}

/// The document's paging: size outside 1..=100 is 20; current below 1 or
/// past the last page is page 1 (so a client walking pages must stop on
/// `remaining`, or it loops over page 1 for ever).
pub(crate) fn paginate(total: usize, current: Option<i64>, size: Option<i64>) -> Page {
    let size = match size {
        Some(s) if (1..=MAX_PAGE_SIZE).contains(&s) => s as usize,
        _ => DEFAULT_PAGE_SIZE,
    };
    let page_start = |c: i64| (c as usize - 1).checked_mul(size);
    let start = match current {
        Some(c) if c >= 1 && page_start(c).is_some_and(|s| s < total) => page_start(c).unwrap_or(0),
        _ => 0,
    };
    let end = (start + size).min(total);
    Page {
        start,
        end,
        remaining: u8::from(end < total),
    }
}

#[derive(Serialize)]
pub(crate) struct ListReply<T> {
    pub(crate) total: usize,
    pub(crate) remaining: u8,
    pub(crate) records: Vec<T>,
}

/// One page of `records` (already filtered and ordered).
pub(crate) fn page_of<T>(
    records: impl Iterator<Item = T> + Clone,
    total: usize,
    query: &ListQuery,
) -> ListReply<T> {
    let page = paginate(total, query.current, query.size);
    ListReply {
        total,
        remaining: page.remaining,
        records: records
            .skip(page.start)
            .take(page.end - page.start)
            .collect(),
    }
}
