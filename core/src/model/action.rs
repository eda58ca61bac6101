//! The actions the Task API offers on an existing task (the state machine decides which apply).

use serde::{Deserialize, Serialize};

/// Every action the Task API offers on an existing task (named after its endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskAction {
    Offer,
    Accept,
    Decline,
    Answered,
    Hold,
    Resume,
    Transfer,
    Terminate,
    ConsultationCall,
    ConsultationAnswered,
    ConsultationMerge,
    ConsultationTransfer,
    ConsultationTerminate,
    ConsultationLeave,
    ConsultationAudioRoutes,
    ConsultationTerminateCustomerCall,
}

impl TaskAction {
    pub const ALL: [TaskAction; 16] = [
        TaskAction::Offer,
        TaskAction::Accept,
        TaskAction::Decline,
        TaskAction::Answered,
        TaskAction::Hold,
        TaskAction::Resume,
        TaskAction::Transfer,
        TaskAction::Terminate,
        TaskAction::ConsultationCall,
        TaskAction::ConsultationAnswered,
        TaskAction::ConsultationMerge,
        TaskAction::ConsultationTransfer,
        TaskAction::ConsultationTerminate,
        TaskAction::ConsultationLeave,
        TaskAction::ConsultationAudioRoutes,
        TaskAction::ConsultationTerminateCustomerCall,
    ];

    /// The endpoint path below `/v1.0/tasks/{taskIdentifier}/`.
    pub fn endpoint(self) -> &'static str {
        match self {
            TaskAction::Offer => "offer",
            TaskAction::Accept => "accept",
            TaskAction::Decline => "decline",
            TaskAction::Answered => "answered",
            TaskAction::Hold => "hold",
            TaskAction::Resume => "resume",
            TaskAction::Transfer => "transfer",
            TaskAction::Terminate => "terminate",
            TaskAction::ConsultationCall => "consultationCall",
            TaskAction::ConsultationAnswered => "consultationCall/answered",
            TaskAction::ConsultationMerge => "consultationCall/merge",
            TaskAction::ConsultationTransfer => "consultationCall/transfer",
            TaskAction::ConsultationTerminate => "consultationCall/terminate",
            TaskAction::ConsultationLeave => "consultationCall/leave",
            TaskAction::ConsultationAudioRoutes => "consultationCall/audioRoutes",
            TaskAction::ConsultationTerminateCustomerCall => {
                "consultationCall/terminateCustomerCall"
            }
        }
    }

    /// "Applicable only for incoming call tasks" in the vendor document.
    pub fn incoming_call_only(self) -> bool {
        matches!(
            self,
            TaskAction::Transfer
                | TaskAction::ConsultationCall
                | TaskAction::ConsultationAnswered
                | TaskAction::ConsultationMerge
                | TaskAction::ConsultationTransfer
                | TaskAction::ConsultationAudioRoutes
                | TaskAction::ConsultationTerminateCustomerCall
        )
    }
}
