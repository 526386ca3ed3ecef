//! nexa_shuffle_*: seeded O(1)-memory permutations through the C ABI.

use shuffle::{fisher_yates_fill, permutation_fill, shard_range, BlockShuffle, Permutation};

use crate::boundary::*;

fn check_range(n: u64, start: u64, count: usize) -> Result<(), AbiError> {
    match start.checked_add(count as u64) {
        Some(end) if end <= n => Ok(()),
        _ => Err(invalid(format!("positions {start}..{start}+{count} exceed n = {n}"))),
    }
}

fn check_values(n: u64, values: &[u64]) -> Result<(), AbiError> {
    match values.iter().position(|&v| v >= n) {
        Some(i) => Err(invalid(format!("values[{i}] = {} is not < n = {n}", values[i]))),
        None => Ok(()),
    }
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_fill(n: u64, seed: u64, start: u64, out: *mut u64, count: usize) -> Status {
    guard("nexa_shuffle_fill", || {
        check_range(n, start, count)?;
        let out = slice_out(out, count, "out")?;
        permutation_fill(&Permutation::permutation_new(n, seed), start, out);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_inverse(
    n: u64,
    seed: u64,
    values: *const u64,
    out: *mut u64,
    count: usize,
) -> Status {
    guard("nexa_shuffle_inverse", || {
        let values = slice_in(values, count, "values")?;
        check_values(n, values)?;
        let out = slice_out(out, count, "out")?;
        let p = Permutation::permutation_new(n, seed);
        for (o, &v) in out.iter_mut().zip(values) {
            *o = p.inverse(v);
        }
        Ok(())
    })
}

fn block_shuffle(n: u64, block: u64, seed: u64) -> Result<BlockShuffle, AbiError> {
    if block == 0 {
        return Err(invalid("block must be >= 1"));
    }
    Ok(BlockShuffle::block_shuffle_new(n, block, seed))
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_block_fill(
    n: u64,
    block: u64,
    seed: u64,
    start: u64,
    out: *mut u64,
    count: usize,
) -> Status {
    guard("nexa_shuffle_block_fill", || {
        check_range(n, start, count)?;
        let s = block_shuffle(n, block, seed)?;
        for (k, o) in slice_out(out, count, "out")?.iter_mut().enumerate() {
            *o = s.permute(start + k as u64);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_block_inverse(
    n: u64,
    block: u64,
    seed: u64,
    values: *const u64,
    out: *mut u64,
    count: usize,
) -> Status {
    guard("nexa_shuffle_block_inverse", || {
        let values = slice_in(values, count, "values")?;
        check_values(n, values)?;
        let s = block_shuffle(n, block, seed)?;
        for (o, &v) in slice_out(out, count, "out")?.iter_mut().zip(values) {
            *o = s.inverse(v);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_shard_range(
    n: u64,
    shard: u64,
    num_shards: u64,
    start: *mut u64,
    end: *mut u64,
) -> Status {
    guard("nexa_shuffle_shard_range", || {
        let (s, e) = (out_ref(start, "start")?, out_ref(end, "end")?);
        let (a, b) = shard_range(n, shard, num_shards).ok_or_else(|| {
            invalid(format!("shard {shard} of {num_shards} is invalid: need 0 <= shard < num_shards"))
        })?;
        (*s, *e) = (a, b);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_shuffle_fisher_yates(seed: u64, out: *mut u32, n: usize) -> Status {
    guard("nexa_shuffle_fisher_yates", || {
        if n as u64 > u32::MAX as u64 {
            return Err(invalid(format!("n = {n} exceeds 2^32 - 1")));
        }
        fisher_yates_fill(slice_out(out, n, "out")?, seed);
        Ok(())
    })
}
