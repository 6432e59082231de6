//! Paging: `limit`/`offset`, the listing query as a whole, links and a batch walk's cursor.

use super::*;

/// `limit`, `offset` and `return_total_count` of a list or batch update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
    pub return_total_count: bool,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: Page::DEFAULT_LIMIT,
            offset: 0,
            return_total_count: false,
        }
    }
}

impl Page {
    pub const DEFAULT_LIMIT: usize = 20;
    pub const MAX_LIMIT: usize = 1000;

    /// Reads the three parameters among a query's (others are ignored); each at most once.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> ApiResult<Page> {
        let mut page = Page::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            if !matches!(key, "limit" | "offset" | "return_total_count") {
                continue;
            }
            if seen.contains(&key) {
                return Err(ApiError::invalid(key, "given more than once"));
            }
            seen.push(key);
            let value = value.trim();
            match key {
                "limit" => {
                    page.limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=Page::MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "limit",
                                format!("must be an integer from 1 to {}", Page::MAX_LIMIT),
                            )
                        })?;
                }
                "offset" => {
                    page.offset = value.parse().map_err(|_| {
                        ApiError::invalid("offset", "must be a non-negative integer")
                    })?;
                }
                _ => {
                    page.return_total_count = match value {
                        "0" => false,
                        "1" => true,
                        _ => return Err(ApiError::invalid("return_total_count", "must be 0 or 1")),
                    };
                }
            }
        }
        Ok(page)
    }

    /// The offset of the next page: after the objects actually returned (a page cut short by
    /// the response size continues where it stopped), when more matches may follow.
    pub fn next_offset(&self, returned: usize, more: bool) -> Option<usize> {
        more.then(|| self.offset + returned)
    }

    /// The offset of the previous page, none on the first.
    pub fn previous_offset(&self) -> Option<usize> {
        (self.offset > 0).then(|| self.offset.saturating_sub(self.limit))
    }

    /// `meta.next` and `meta.previous`: `path` plus the request's own query (`raw_query`, as
    /// received, without `?`) with `offset` replaced.
    pub fn links(
        &self,
        path: &str,
        raw_query: &str,
        returned: usize,
        more: bool,
    ) -> (Option<String>, Option<String>) {
        let link = |offset| page_link(path, raw_query, offset);
        (
            self.next_offset(returned, more).map(link),
            self.previous_offset().map(link),
        )
    }
}

/// A parsed `user_profile` query: `where` and the legacy shortcuts ANDed, `order_by`, paging.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub order: OrderBy,
    pub page: Page,
    /// A batch update's `next` link: the position its walk continues after.
    pub after: Option<Cursor>,
}

impl ListQuery {
    /// From the request's query parameters, decoded, in the order sent.
    pub fn parse(params: &[(String, String)], fields: &UserFields) -> ApiResult<ListQuery> {
        let pairs = || params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let single = |name: &str| -> ApiResult<Option<&str>> {
            let mut values = pairs().filter(|(k, _)| *k == name).map(|(_, v)| v);
            let first = values.next();
            if values.next().is_some() {
                return Err(ApiError::invalid(name, "given more than once"));
            }
            Ok(first)
        };
        let mut filters = Vec::new();
        if let Some(json) = single("where")? {
            filters.push(Filter::from_where(json, fields)?);
        }
        filters.push(Filter::from_shortcuts(
            pairs().filter(|(k, _)| *k != CURSOR_PARAM),
            fields,
        )?);
        Ok(ListQuery {
            filter: Filter::and(filters),
            order: OrderBy::parse(single("order_by")?.unwrap_or(""), fields)?,
            page: Page::parse(pairs())?,
            after: single(CURSOR_PARAM)?.map(Cursor::parse).transpose()?,
        })
    }
}

/// Where the request came from, for the `next` / `previous` links.
#[derive(Debug, Clone)]
pub struct Origin {
    pub path: String,
    /// The query as received, without `?`.
    pub raw_query: String,
}

/// The parameter a batch update's `next` link continues its walk with: the position of the
/// last user of the page in the directory's order (`<created_at>_<id>`), which no update
/// moves. An offset would skip users: those the page's update took out of the query no longer
/// count before it. (A custom field is never named so: names start with a letter.)
pub const CURSOR_PARAM: &str = "_cursor";

/// A place in the users' creation order: after the user created at `created_at` with numeric
/// id `im_userid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub im_userid: i64,
}

impl Cursor {
    /// The cursor as a link carries it.
    pub fn text(&self) -> String {
        format!("{}_{}", self.created_at, self.im_userid)
    }

    /// A cursor as [`Cursor::text`] writes it; anything else is a 400 naming it.
    pub fn parse(text: &str) -> ApiResult<Cursor> {
        let number = |part: &str, digits: usize| {
            (!part.is_empty() && part.len() <= digits && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i64>().ok())
                .flatten()
        };
        text.split_once('_')
            .and_then(|(at, id)| {
                Some(Cursor {
                    created_at: number(at, 11)?,
                    im_userid: number(id, 19)?,
                })
            })
            .ok_or_else(|| {
                ApiError::invalid(
                    CURSOR_PARAM,
                    "is not a position this service gave: follow `next` as it is given",
                )
            })
    }
}

/// `next` of a batch update: the request's query with the cursor and the offset replaced.
pub fn cursor_link(origin: &Origin, cursor: &Cursor, offset: usize) -> String {
    let mut parts: Vec<&str> = origin
        .raw_query
        .split('&')
        .filter(|p| {
            let key = p.split_once('=').map_or(*p, |(k, _)| k);
            percent_encoding::percent_decode_str(key).decode_utf8_lossy() != CURSOR_PARAM
        })
        .collect();
    let cursor = format!("{CURSOR_PARAM}={}", cursor.text());
    parts.push(&cursor);
    page_link(&origin.path, &parts.join("&"), offset)
}

/// Decoded query parameters in the order sent (`+` is a space, as forms encode it).
pub fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `path?<the same query>&offset=N`: every parameter but `offset` kept as sent, in order.
pub fn page_link(path: &str, raw_query: &str, offset: usize) -> String {
    let mut parts: Vec<&str> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split_once('=').map_or(*p, |(k, _)| k);
            percent_encoding::percent_decode_str(key).decode_utf8_lossy() != "offset"
        })
        .collect();
    let offset = format!("offset={offset}");
    parts.push(&offset);
    format!("{path}?{}", parts.join("&"))
}
