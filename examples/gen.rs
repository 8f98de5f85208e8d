//! Generates realistic sample records for the shipped policies:
//! deterministic for a seed, with accounts, engagement numbers and, in a
//! share of the records, a planted violation for each campaign.
//!
//! ```sh
//! cargo run --example gen -- --seed 7 --count 300 > policies/examples/records.jsonl
//! cargo run --example gen -- --count 100000 --texts ../shared/data/cold/test.csv > /tmp/bench.jsonl
//! cargo run --example gen -- --follows --count 3000 > policies/examples/follows.jsonl
//! ```
//!
//! `--follows` writes `Follow` events instead: follows of 200 accounts over
//! June 2022, mostly by old accounts, with a planted burst (1,200 accounts
//! registered days before following one account within six hours) and a
//! near miss (as many follows of another account, most by old accounts).
//!
//! Texts are the project's own templates; `--texts` draws ordinary texts
//! from the `TEXT` column of a CSV file instead (for benchmarks). Records
//! come out in time order, as a platform's stream does, and (from 100
//! records on) include planted bursts for the rules that read state: a push
//! flood, a water-army burst of new accounts and a spreading rumour.

// An example program: it may stop on bad arguments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;

use serde_json::{json, Value};

/// xorshift64*: small, deterministic, good enough for sample data.
struct Rng(u64);

impl Rng {
    /// The generator of `seed` (any seed: the state is never 0).
    fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low).max(1) as u64) as i64
    }
}

const PLACES: [&str; 8] = ["西湖", "外滩", "长城", "鼓浪屿", "洱海", "故宫", "黄山", "夫子庙"];
const FOODS: [&str; 6] = ["火锅", "小笼包", "烤鸭", "米粉", "煎饼果子", "糖葫芦"];
const NICKS: [&str; 10] = [
    "小王爱旅行",
    "美食阿杰",
    "跑步的猫",
    "山城姑娘",
    "数码老李",
    "读书小组",
    "阿明钓鱼",
    "宝妈日记",
    "程序员小周",
    "摄影师大刘",
];
const TOPICS: [&str; 8] = ["旅行", "美食", "数码", "读书", "运动", "宠物", "摄影", "家居"];

fn ordinary_text(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => format!("今天和朋友去{}玩了，风景很美", rng.pick(&PLACES)),
        1 => format!("推荐一家好吃的{}，排队一个小时也值得", rng.pick(&FOODS)),
        2 => format!("周末在家整理了书架，分享几本关于{}的好书", rng.pick(&TOPICS)),
        3 => String::from("新手求问：第一次养猫需要准备什么？"),
        _ => format!("记录一下今天的{}日常，大家晚安", rng.pick(&TOPICS)),
    }
}

/// `2022-MM-DDTHH:MM:SSZ` for a day of 2022 (day 0 = January 1).
fn time_2022(rng: &mut Rng, first_day: i64, last_day: i64) -> String {
    let day = rng.range(first_day, last_day + 1);
    let days_in_month = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut month, mut rest) = (0, day);
    while rest >= days_in_month[month] {
        rest -= days_in_month[month];
        month += 1;
    }
    format!(
        "2022-{:02}-{:02}T{:02}:{:02}:00Z",
        month + 1,
        rest + 1,
        rng.range(0, 24),
        rng.range(0, 60)
    )
}

struct Generator {
    rng: Rng,
    texts: Vec<String>,
}

impl Generator {
    fn text(&mut self) -> String {
        if self.texts.is_empty() {
            ordinary_text(&mut self.rng)
        } else {
            let i = self.rng.below(self.texts.len() as u64) as usize;
            self.texts[i].clone()
        }
    }

    fn account(&mut self, n: u64) -> Value {
        let rng = &mut self.rng;
        let followers = rng.range(10, 200_000);
        json!({
            "id": format!("a{n:05}"),
            "kind": "personal",
            "nickname": rng.pick(&NICKS),
            "verification": rng.pick(&["none", "none", "personal", "personal", "organization"]),
            "created_at": format!("20{:02}-0{}-1{}", rng.range(15, 22), rng.range(1, 10), rng.range(0, 10)),
            "followers": followers,
            "inactive_follower_ratio": (rng.range(0, 30) as f64) / 100.0,
            "age": if rng.chance(70) { Value::from(rng.range(18, 70)) } else { Value::Null },
            "strikes": if rng.chance(90) { 0 } else { 1 },
            "banned_before": false,
            "linked_banned_accounts": 0,
            "real_name_shown": rng.chance(80),
        })
    }

    fn content(&mut self, n: u64) -> Value {
        let author = self.account(n);
        let text = self.text();
        let rng = &mut self.rng;
        let kind = rng.pick(&["post", "post", "article", "comment", "livestream", "short_video"]);
        let viewers = rng.range(0, 5000);
        let live = kind == "livestream" || kind == "short_video";
        json!({
            "id": format!("c{n:05}"),
            "kind": kind,
            "title": format!("{}分享", rng.pick(&TOPICS)),
            "text": text,
            "tags": [rng.pick(&TOPICS)],
            "declared_labels": [],
            "created_at": time_2022(rng, 76, 364),
            "ip_region": rng.pick(&["北京", "上海", "广东", "四川", "浙江"]),
            "is_news": false,
            "likes": viewers / 10,
            "shares": rng.range(0, 50),
            "comments": rng.range(0, 30),
            "reports": rng.range(0, 3),
            "viewers": viewers,
            "tips_total": if live { rng.range(0, 500) as f64 } else { 0.0 },
            "tippers": if live { rng.range(0, 20) } else { 0 },
            "max_single_tip": if live { rng.range(0, 100) as f64 } else { 0.0 },
            "scores": {
                "vulgarity": rng.range(0, 30) as f64 / 100.0,
                "rumour": rng.range(0, 30) as f64 / 100.0,
                "clickbait": rng.range(0, 40) as f64 / 100.0,
            },
            "author": author,
        })
    }
}

/// Plants one campaign's violation into an ordinary record.
fn plant(rng: &mut Rng, record: &mut Value, campaign: u64) {
    let r = record.as_object_mut().unwrap();
    let mut set = |key: &str, value: Value| {
        r.insert(key.to_string(), value);
    };
    match campaign {
        // 2022 (1) livestream: gambling talk, minors tipping, stunts, banned comebacks.
        0 => {
            set("kind", json!("livestream"));
            match rng.below(4) {
                0 => set("asr_text", json!("兄弟们今晚一起下注百家乐")),
                1 => {
                    set("tips_total", json!(880.0));
                    set("tippers", json!(4));
                    set("minor_tippers", json!(1));
                }
                2 => set("title", json!("今晚直播跳楼")),
                _ => set("displayed_viewers", json!(100_000)),
            }
        }
        // 2022 (2) MCN: an MCN account with inflated followers.
        1 => {
            let author = r.get_mut("author").unwrap().as_object_mut().unwrap();
            author.insert("mcn".into(), json!("星光传媒"));
            author.insert("followers".into(), json!(80_000));
            author.insert("inactive_follower_ratio".into(), json!(0.75));
        }
        // 2022 (3) rumours.
        2 => {
            set("text", json!("内部消息：明天全城停水，速看马上删，转发扩散"));
            set("shares", json!(12_000));
        }
        // 2022 (4) minors' summer: only in July and August.
        3 => {
            set("created_at", json!(time_2022(rng, 182, 242)));
            set("tags", json!(["#小学生"]));
            set("scores", json!({ "vulgarity": 0.72 }));
        }
        // 2022 (5) apps.
        4 => {
            set("kind", json!("app_listing"));
            set("title", json!("看片神器，免费领手机"));
        }
        // 2022 (6) news: reposted news without a source.
        5 => {
            set("is_news", json!(true));
            set("repost_of", json!("https://news.example.cn/2022/0601"));
            set("title", json!("震惊！某地发生重大事件"));
        }
        // 2022 (7) algorithm: vulgar content on the hot list.
        6 => {
            set("hot_rank", json!(rng.range(1, 30)));
            set("scores", json!({ "vulgarity": 0.66 }));
        }
        // 2022 (8) Spring Festival: only around the holiday.
        7 => {
            set("created_at", json!(time_2022(rng, 20, 48)));
            set(
                "text",
                json!(if rng.chance(50) {
                    "春节晒豪车，一晚消费十万"
                } else {
                    "大家来人肉搜索他，曝光他家"
                }),
            );
        }
        // 2022 (9) traffic fraud.
        8 => set("text", json!("专业刷单刷量，有偿删帖，好评返现")),
        // 2022 (10) accounts: impersonation or clickbait.
        _ => {
            if rng.chance(50) {
                let author = r.get_mut("author").unwrap().as_object_mut().unwrap();
                author.insert("nickname".into(), json!("新华社快讯"));
                author.insert("verification".into(), json!("none"));
            } else {
                r.insert("title".into(), json!("震惊！速看！不转不是中国人"));
            }
        }
    }
}

fn main() {
    let mut seed = 7u64;
    let mut count = 300u64;
    let mut texts_path = None;
    let mut follows = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--count" => count = args.next().and_then(|v| v.parse().ok()).expect("--count N"),
            "--texts" => texts_path = args.next(),
            "--follows" => follows = true,
            other => panic!("unknown argument `{other}`; use --seed N, --count N, --texts CSV, --follows"),
        }
    }
    let texts = match texts_path {
        None => Vec::new(),
        Some(path) => {
            let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
            reader
                .records()
                .filter_map(Result::ok)
                .filter_map(|r| r.get(r.len().saturating_sub(1)).map(str::to_string))
                .collect()
        }
    };
    if follows {
        write_all(follow_events(&mut Rng::seeded(seed), count), "at");
        return;
    }
    write_all(content_records(seed, count, texts), "created_at");
}

/// `count` content records for `seed` (texts drawn from `texts` when it
/// has any), planted violations and bursts included, in no particular
/// order (`write_all` sorts them). Benchmarks generate their streams here.
pub fn content_records(seed: u64, count: u64, texts: Vec<String>) -> Vec<Value> {
    let mut generator = Generator {
        rng: Rng::seeded(seed),
        texts,
    };
    let bursts = if count >= 100 {
        bursts(&mut generator)
    } else {
        Vec::new()
    };
    let mut records = Vec::with_capacity(count as usize);
    for n in 0..count.saturating_sub(bursts.len() as u64) {
        let mut record = generator.content(n);
        // One record in four carries a violation, cycling through the campaigns.
        if n % 4 == 3 {
            let campaign = (n / 4) % 10;
            plant(&mut generator.rng, &mut record, campaign);
        }
        records.push(record);
    }
    records.extend(bursts);
    records
}

/// Records in time order by `time` (the sort is stable: ties keep their
/// order), as a platform's stream comes.
pub fn in_time_order(mut records: Vec<Value>, time: &str) -> Vec<Value> {
    records.sort_by(|a, b| a[time].as_str().cmp(&b[time].as_str()));
    records
}

/// Writes records in time order by `time`, one JSON object a line.
fn write_all(records: Vec<Value>, time: &str) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for record in in_time_order(records, time) {
        writeln!(out, "{record}").unwrap();
    }
}

/// `count` follow events (at least the 2,700 planted ones): background
/// follows of 200 accounts over June 2022 by accounts registered years
/// before; 1,200 accounts registered in the three days before following
/// `a00042` between 08:00 and 14:00 on June 15 (a burst); 1,500 follows of
/// `a00043` on June 16 of which only 600 are by new accounts (a near miss).
fn follow_events(rng: &mut Rng, count: u64) -> Vec<Value> {
    let follow = |id: usize, at: String, followee: String, follower: String, created: String| json!({ "id": format!("f{id:06}"), "at": at, "followee": followee, "follower": follower, "follower_created_at": created });
    let mut out = Vec::new();
    for i in 0..1_200u64 {
        let at = format!("2022-06-15T{:02}:{:02}:{:02}Z", 8 + i / 200, i % 200 * 3 / 10, i % 60);
        let created = format!("2022-06-{:02}", 12 + rng.below(3));
        out.push(follow(out.len(), at, "a00042".into(), format!("n{i:05}"), created));
    }
    for i in 0..1_500u64 {
        let at = format!("2022-06-16T{:02}:{:02}:{:02}Z", 8 + i / 250, i % 250 * 6 / 25, i % 60);
        let created = if i % 5 < 2 {
            format!("2022-06-{:02}", 13 + rng.below(3))
        } else {
            format!("20{}-0{}-1{}", rng.range(15, 21), rng.range(1, 10), rng.range(0, 10))
        };
        out.push(follow(out.len(), at, "a00043".into(), format!("m{i:05}"), created));
    }
    while (out.len() as u64) < count {
        let at = format!(
            "2022-06-{:02}T{:02}:{:02}:{:02}Z",
            rng.range(1, 31),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        );
        let followee = format!("a{:05}", rng.below(200));
        let follower = format!("u{:06}", rng.below(1_000_000));
        let created = format!("20{}-0{}-1{}", rng.range(15, 22), rng.range(1, 10), rng.range(0, 10));
        out.push(follow(out.len(), at, followee, follower, created));
    }
    out
}

/// Records that fire the stateful rules as a sequence: eight pushes by one
/// app in a day, six new accounts posting one text (in three spellings)
/// within half an hour and one of them posting again the next day, and
/// four accounts repeating an inside-source claim within 40 minutes.
fn bursts(generator: &mut Generator) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..8u64 {
        let at = format!("2022-06-10T{:02}:{:02}:00Z", 8 + i / 2, (i % 2) * 30);
        out.push(burst_record(
            generator,
            i,
            ("a_push_app", None),
            "push",
            "今日要闻推送",
            &at,
        ));
    }
    let spellings = [
        "这家店真的太好吃了强烈推荐",
        "这家店真的太好吃了，强烈推荐！",
        "這家店真的太好吃了強烈推薦",
    ];
    for i in 0..6u64 {
        let author = format!("a_new_{i}");
        let created = format!("2022-09-0{}", 1 + i % 5);
        let at = format!("2022-09-08T10:{:02}:00Z", i * 5);
        let text = spellings[i as usize % 3];
        out.push(burst_record(
            generator,
            10 + i,
            (&author, Some(&created)),
            "post",
            text,
            &at,
        ));
    }
    let again = ("a_new_5", Some("2022-09-05"));
    out.push(burst_record(
        generator,
        20,
        again,
        "comment",
        "明天去公园散步",
        "2022-09-09T09:00:00Z",
    ));
    let claims = [
        "内部消息：明天全城停水",
        "内部消息，明天全城停水！",
        "內部消息 明天全城停水",
    ];
    for i in 0..4u64 {
        let at = format!("2022-07-15T09:{:02}:00Z", i * 10);
        let author = format!("a_claim_{i}");
        out.push(burst_record(
            generator,
            30 + i,
            (&author, None),
            "post",
            claims[i as usize % 3],
            &at,
        ));
    }
    out
}

/// An ordinary record made part of a burst: its author (id, and when the
/// account was created), kind, text and time.
fn burst_record(
    generator: &mut Generator,
    n: u64,
    author: (&str, Option<&str>),
    kind: &str,
    text: &str,
    at: &str,
) -> Value {
    let mut record = generator.content(900_000 + n);
    record["id"] = json!(format!("b{n:05}"));
    record["kind"] = json!(kind);
    record["text"] = json!(text);
    record["created_at"] = json!(at);
    record["author"]["id"] = json!(author.0);
    if let Some(created) = author.1 {
        record["author"]["created_at"] = json!(created);
        record["author"]["followers"] = json!(3);
    }
    record
}
