// In its own folder so that cargo does not take it for a benchmark.
//! Shared by the benchmarks: where the third-party data lives, and records
//! built from its texts.

#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data` (or `QLP_DATA_DIR`), if present.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QLP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    dir.is_dir().then_some(dir)
}

/// Texts of real Chinese comments (COLD), or a few of our own without the data.
pub fn texts() -> Vec<String> {
    if let Some(dir) = data_dir() {
        if let Ok(mut reader) = csv::Reader::from_path(dir.join("cold/test.csv")) {
            let texts: Vec<String> = reader
                .records()
                .filter_map(Result::ok)
                .filter_map(|r| r.get(r.len().saturating_sub(1)).map(str::to_string))
                .collect();
            if !texts.is_empty() {
                return texts;
            }
        }
    }
    eprintln!("note: ../shared/data is absent; benchmarking on the project's own sample texts");
    [
        "今天和朋友去西湖玩了，风景很美，推荐大家周末去走走",
        "推荐一家好吃的火锅，排队一个小时也值得，服务也很好",
        "兄弟们今晚一起下注百家乐，彩金翻倍",
        "新手求问：第一次养猫需要准备什么？猫粮、猫砂还是玩具",
        "http://example.cn 专业刷单刷量，有偿删帖",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// xorshift64*, for deterministic record fields.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// DESIGN.md's 20-keyword clause (gambling, paid posting, contraband).
pub const WORDS: [&str; 20] = [
    "赌博",
    "博彩",
    "网赌",
    "下注",
    "赌球",
    "百家乐",
    "彩金",
    "押注",
    "开盘口",
    "刷单",
    "水军",
    "控评",
    "删帖",
    "约炮",
    "裸聊",
    "代开发票",
    "枪支",
    "迷药",
    "办证",
    "套现",
];
