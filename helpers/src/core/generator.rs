//! The synthetic social network: a seeded, weighted generator of events.
//!
//! Like the original Python producer it picks a user, a hashtag and a phrase at random and
//! writes `{"usuario", "texto": "<phrase> <hashtag>", "hashtag_principal", "timestamp"}`.
//! Hashtags are drawn by weight (the defaults favour `#Spark`, so the demo has a clear
//! leader). The same seed and the same timestamps give the same stream, so a test or a
//! class can replay it. With a [`TrendShift`] the weights rotate every period of event
//! time, so the leader changes during a demo and the ranking visibly moves.
//!
//! JSON is written by hand from pre-escaped fragments into a reused buffer: no allocation
//! per event, millions of events per second per core.

use std::borrow::Cow;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::core::config::{
    DEFAULT_HASHTAGS, DEFAULT_PHRASES, DEFAULT_SEED, DEFAULT_USERS, DEFAULT_WEIGHTS,
};
use crate::core::event::{Event, MAX_HASHTAG_BYTES};
use crate::core::time::duration_micros;
use crate::error::Error;

/// Rotates the hashtag weights every `every` of event time, so the leader changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendShift {
    /// How long each hashtag leads before the weights rotate to the next one.
    pub every: Duration,
}

/// Settings of the generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Who posts (`usuario`).
    pub users: Vec<String>,
    /// What is counted (`hashtag_principal`).
    pub hashtags: Vec<String>,
    /// Relative weight of each hashtag (same length as `hashtags`; need not sum to 1).
    pub weights: Vec<f64>,
    /// Text before the hashtag in `texto`.
    pub phrases: Vec<String>,
    /// Seed of the random generator: same seed, same stream.
    pub seed: u64,
    /// Optional rotation of the weights over time.
    pub trend: Option<TrendShift>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            users: DEFAULT_USERS.iter().map(|s| s.to_string()).collect(),
            hashtags: DEFAULT_HASHTAGS.iter().map(|s| s.to_string()).collect(),
            weights: DEFAULT_WEIGHTS.to_vec(),
            phrases: DEFAULT_PHRASES.iter().map(|s| s.to_string()).collect(),
            seed: DEFAULT_SEED,
            trend: None,
        }
    }
}

impl GeneratorConfig {
    /// Replaces hashtags and weights from text like `"#Spark=4,#BigData=2,#IA"` (a tag
    /// without `=` weighs 1). This is how the `HASHTAG_WEIGHTS` setting is read.
    pub fn with_weights_spec(mut self, spec: &str) -> Result<GeneratorConfig, Error> {
        let mut tags = Vec::new();
        let mut weights = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (tag, w) = match item.rsplit_once('=') {
                Some((t, w)) => {
                    let w: f64 = w.trim().parse().map_err(|_| {
                        Error::config(
                            "hashtag weight",
                            item,
                            "write `#Tag=2.5`, a number after `=`",
                        )
                    })?;
                    (t.trim(), w)
                }
                None => (item, 1.0),
            };
            tags.push(tag.to_string());
            weights.push(w);
        }
        self.hashtags = tags;
        self.weights = weights;
        self.validate()?;
        Ok(self)
    }

    /// Checks the lists are usable.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, list) in [
            ("users", &self.users),
            ("hashtags", &self.hashtags),
            ("phrases", &self.phrases),
        ] {
            if list.is_empty() {
                return Err(Error::config(name, "[]", "give at least one"));
            }
        }
        for tag in &self.hashtags {
            if tag.trim().is_empty() || tag.len() > MAX_HASHTAG_BYTES {
                return Err(Error::config(
                    "hashtags",
                    format!("{tag:?}"),
                    "hashtags must be non-empty and at most 280 bytes",
                ));
            }
        }
        if self.weights.len() != self.hashtags.len() {
            return Err(Error::config(
                "weights",
                format!("{:?}", self.weights),
                "give one weight per hashtag",
            ));
        }
        if self.weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.weights.iter().sum::<f64>() <= 0.0
        {
            return Err(Error::config(
                "weights",
                format!("{:?}", self.weights),
                "weights must be finite, >= 0, and not all 0",
            ));
        }
        if let Some(t) = self.trend {
            if t.every < Duration::from_millis(1) {
                return Err(Error::config(
                    "trend.every",
                    format!("{:?}", t.every),
                    "use a period of at least 1 ms, e.g. 60 s",
                ));
            }
        }
        Ok(())
    }
}

/// One random draw: indices into the configured lists, and the timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Index into `users`.
    pub user: usize,
    /// Index into `hashtags`.
    pub hashtag: usize,
    /// Index into `phrases`.
    pub phrase: usize,
    /// Seconds since the epoch.
    pub timestamp: f64,
}

/// The generator. See the module docs.
#[derive(Debug)]
pub struct Generator {
    /// The settings, validated.
    config: GeneratorConfig,
    /// The seeded random source.
    rng: StdRng,
    /// Cumulative weights for each rotation (one entry without a trend shift).
    cumulative: Vec<Vec<f64>>,
    /// Each user as a quoted JSON string.
    users_json: Vec<String>,
    /// Each hashtag JSON-escaped, without quotes.
    hashtags_json: Vec<String>,
    /// Each phrase JSON-escaped, without quotes.
    phrases_json: Vec<String>,
    /// Events drawn so far, per hashtag: "what the generator says it sent".
    drawn: Vec<u64>,
}

/// Cumulative weights for each rotation of the weights (one without a trend shift).
fn cumulative_weights(config: &GeneratorConfig) -> Vec<Vec<f64>> {
    let n = config.hashtags.len();
    let rotations = if config.trend.is_some() { n } else { 1 };
    (0..rotations)
        .map(|r| {
            let mut acc = 0.0;
            (0..n)
                .map(|i| {
                    // Rotation r gives hashtag i the weight of hashtag (i + n - r) % n:
                    // the leader moves one place each period.
                    acc += config.weights[(i + n - r) % n];
                    acc
                })
                .collect()
        })
        .collect()
}

/// `s` as JSON string contents (escaped, no quotes).
fn escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("strings serialise");
    quoted[1..quoted.len() - 1].to_string()
}

impl Generator {
    /// A generator for `config`; fails if the lists or weights are unusable.
    pub fn new(config: GeneratorConfig) -> Result<Generator, Error> {
        config.validate()?;
        let n = config.hashtags.len();
        let cumulative = cumulative_weights(&config);
        Ok(Generator {
            rng: StdRng::seed_from_u64(config.seed),
            cumulative,
            users_json: config
                .users
                .iter()
                .map(|u| format!("\"{}\"", escape(u)))
                .collect(),
            hashtags_json: config.hashtags.iter().map(|h| escape(h)).collect(),
            phrases_json: config.phrases.iter().map(|p| escape(p)).collect(),
            drawn: vec![0; n],
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// Turns the trend shift on (or off with `None`) from the next draw on.
    pub fn set_trend(&mut self, trend: Option<TrendShift>) -> Result<(), Error> {
        let mut config = self.config.clone();
        config.trend = trend;
        config.validate()?;
        self.cumulative = cumulative_weights(&config);
        self.config = config;
        Ok(())
    }

    /// How many events of each hashtag were drawn so far, in `hashtags` order.
    #[cfg(test)]
    pub(crate) fn drawn(&self) -> &[u64] {
        &self.drawn
    }

    /// Which rotation of the weights applies at `timestamp`.
    fn rotation(&self, timestamp: f64) -> usize {
        match self.config.trend {
            None => 0,
            Some(t) => {
                let period = duration_micros(t.every);
                let micros = (timestamp * 1e6) as i64;
                micros
                    .div_euclid(period)
                    .rem_euclid(self.cumulative.len() as i64) as usize
            }
        }
    }

    /// Draws the next event at `timestamp` (seconds since the epoch).
    pub(crate) fn next_draw(&mut self, timestamp: f64) -> Draw {
        let cum = &self.cumulative[self.rotation(timestamp)];
        let total = *cum.last().expect("at least one hashtag");
        let x = self.rng.random::<f64>() * total;
        let hashtag = cum.partition_point(|c| *c <= x).min(cum.len() - 1);
        let user = self.rng.random_range(0..self.users_json.len());
        let phrase = self.rng.random_range(0..self.phrases_json.len());
        self.drawn[hashtag] += 1;
        Draw {
            user,
            hashtag,
            phrase,
            timestamp,
        }
    }

    /// Appends the wire JSON of `draw` to `buf`.
    pub(crate) fn write_json(&self, draw: &Draw, buf: &mut Vec<u8>) {
        let tag = self.hashtags_json[draw.hashtag].as_bytes();
        buf.extend_from_slice(b"{\"usuario\":");
        buf.extend_from_slice(self.users_json[draw.user].as_bytes());
        buf.extend_from_slice(b",\"texto\":\"");
        buf.extend_from_slice(self.phrases_json[draw.phrase].as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(tag);
        buf.extend_from_slice(b"\",\"hashtag_principal\":\"");
        buf.extend_from_slice(tag);
        buf.extend_from_slice(b"\",\"timestamp\":");
        serde_json::to_writer(&mut *buf, &draw.timestamp).expect("writing to a Vec cannot fail");
        buf.push(b'}');
    }

    /// Draws the next event and writes its JSON into `buf` (cleared first); returns the draw.
    pub fn next_json(&mut self, timestamp: f64, buf: &mut Vec<u8>) -> Draw {
        let draw = self.next_draw(timestamp);
        buf.clear();
        self.write_json(&draw, buf);
        draw
    }

    /// The event of `draw` as a value (for showing samples).
    pub fn event(&self, draw: &Draw) -> Event<'static> {
        let tag = &self.config.hashtags[draw.hashtag];
        Event {
            usuario: Cow::Owned(self.config.users[draw.user].clone()),
            texto: Cow::Owned(format!("{} {}", self.config.phrases[draw.phrase], tag)),
            hashtag_principal: Cow::Owned(tag.clone()),
            timestamp: draw.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::decode;

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let run = |seed| {
            let mut g = Generator::new(GeneratorConfig {
                seed,
                ..Default::default()
            })
            .unwrap();
            let mut buf = Vec::new();
            (0..200)
                .map(|i| {
                    g.next_json(1733940000.0 + i as f64, &mut buf);
                    buf.clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn json_decodes_to_the_same_event() {
        let mut g = Generator::new(GeneratorConfig {
            users: vec!["@Quote\"User".into()],
            hashtags: vec!["#Ñandú".into(), "#<b>".into()],
            weights: vec![1.0, 1.0],
            phrases: vec!["tab\there \\ back".into()],
            ..Default::default()
        })
        .unwrap();
        let mut buf = Vec::new();
        for i in 0..100 {
            let d = g.next_json(1733940000.25 + i as f64, &mut buf);
            let ev = decode(&buf).unwrap();
            assert_eq!(ev, g.event(&d), "{}", String::from_utf8_lossy(&buf));
        }
    }

    #[test]
    fn default_output_matches_the_original_format() {
        let mut g = Generator::new(GeneratorConfig::default()).unwrap();
        let mut buf = Vec::new();
        g.next_json(1733940000.0, &mut buf);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 4);
        assert!(DEFAULT_USERS.contains(&obj["usuario"].as_str().unwrap()));
        let tag = obj["hashtag_principal"].as_str().unwrap();
        assert!(DEFAULT_HASHTAGS.contains(&tag));
        let text = obj["texto"].as_str().unwrap();
        assert!(text.ends_with(&format!(" {tag}")));
        assert!(DEFAULT_PHRASES.iter().any(|p| text.starts_with(p)));
        assert!(std::str::from_utf8(&buf)
            .unwrap()
            .ends_with("\"timestamp\":1733940000.0}"));
    }

    #[test]
    fn weights_are_respected_and_spark_leads() {
        let mut g = Generator::new(GeneratorConfig::default()).unwrap();
        let n = 100_000;
        for i in 0..n {
            g.next_draw(i as f64);
        }
        let drawn = g.drawn().to_vec();
        assert_eq!(drawn.iter().sum::<u64>(), n);
        // #Spark has weight 0.4 of 1.0: expect 40000 ± 1% of n.
        assert!((drawn[0] as f64 - 40_000.0).abs() < 1_000.0, "{drawn:?}");
        for d in &drawn[1..] {
            assert!((*d as f64 - 20_000.0).abs() < 1_000.0, "{drawn:?}");
        }
    }

    #[test]
    fn zero_weight_is_never_drawn() {
        let cfg = GeneratorConfig::default()
            .with_weights_spec("#A=1, #B=0, #C=2")
            .unwrap();
        assert_eq!(cfg.hashtags, vec!["#A", "#B", "#C"]);
        let mut g = Generator::new(cfg).unwrap();
        for i in 0..10_000 {
            g.next_draw(i as f64);
        }
        assert_eq!(g.drawn()[1], 0);
        assert!(g.drawn()[2] > g.drawn()[0]);
    }

    #[test]
    fn trend_shift_moves_the_leader() {
        let mut g = Generator::new(GeneratorConfig {
            trend: Some(TrendShift {
                every: Duration::from_secs(60),
            }),
            ..Default::default()
        })
        .unwrap();
        let mut leaders = Vec::new();
        for period in 0..4 {
            let before = g.drawn().to_vec();
            for i in 0..20_000 {
                g.next_draw(period as f64 * 60.0 + (i as f64) * 0.001);
            }
            let diff: Vec<u64> = g.drawn().iter().zip(&before).map(|(a, b)| a - b).collect();
            let leader = (0..diff.len()).max_by_key(|i| diff[*i]).unwrap();
            leaders.push(leader);
        }
        assert_eq!(leaders, vec![0, 1, 2, 3]);
        // Off again: #Spark leads whatever the time.
        g.set_trend(None).unwrap();
        let before = g.drawn().to_vec();
        for i in 0..20_000 {
            g.next_draw(60.0 + i as f64 * 0.001);
        }
        let diff: Vec<u64> = g.drawn().iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!((0..4).max_by_key(|i| diff[*i]), Some(0));
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_named() {
        let bad = [
            GeneratorConfig {
                users: vec![],
                ..Default::default()
            },
            GeneratorConfig {
                weights: vec![1.0],
                ..Default::default()
            },
            GeneratorConfig {
                weights: vec![0.0; 4],
                ..Default::default()
            },
            GeneratorConfig {
                weights: vec![1.0, f64::NAN, 1.0, 1.0],
                ..Default::default()
            },
            GeneratorConfig {
                hashtags: vec!["".into(), "#a".into(), "#b".into(), "#c".into()],
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(Generator::new(c).is_err());
        }
        let e = GeneratorConfig::default()
            .with_weights_spec("#A=lots")
            .unwrap_err();
        assert!(e.to_string().contains("#A=lots"), "{e}");
    }
}
