//! rust_threads: 4 producer threads send numbers over one std::sync::mpsc
//! channel; the main thread receives them all and prints their sum (fixed)
//! and an FNV-1a hash of the order they arrived in (varies natively).

use std::sync::mpsc;
use std::thread;

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 20_000;

fn main() {
    let (tx, rx) = mpsc::channel::<u64>();
    let mut handles = Vec::new();
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        handles.push(thread::spawn(move || {
            for i in 0..PER_PRODUCER {
                let mut x = p * 1_000_000 + i;
                // A little work per item, so the producers interleave.
                for _ in 0..50 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                tx.send(p * 1_000_000 + i).unwrap();
                if x == 42 {
                    println!("unlikely");
                }
            }
        }));
    }
    drop(tx);

    let mut sum: u64 = 0;
    let mut count: u64 = 0;
    let mut order: u64 = 0xcbf2_9ce4_8422_2325;
    let mut switches: u64 = 0;
    let mut last_producer = u64::MAX;
    for v in rx {
        sum += v;
        count += 1;
        order = (order ^ v).wrapping_mul(0x100_0000_01b3);
        let producer = v / 1_000_000;
        if producer != last_producer {
            switches += 1;
            last_producer = producer;
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    let expected: u64 = (0..PRODUCERS)
        .map(|p| (0..PER_PRODUCER).map(|i| p * 1_000_000 + i).sum::<u64>())
        .sum();
    println!("received: {count}");
    println!("sum: {sum}");
    println!("expected sum: {expected}");
    println!("order hash: {order:016x}");
    println!("producer switches: {switches}");
    std::process::exit(if sum == expected && count == PRODUCERS * PER_PRODUCER {
        0
    } else {
        1
    });
}
